using ChatPlatform.Core.Chat;
using ChatPlatform.Data.Personas;
using ChatPlatform.Inference.Gguf;
using ChatPlatform.Inference.Models;

namespace ChatPlatform.Admin.Personas;

/// <summary>An uploaded adapter the editor can add to a draft, or why it was refused.</summary>
public sealed record AdapterUploadResult(string? Path, string? Sha256, string? Problem);

/// <summary>
/// Accepts a LoRA adapter for a persona: the file must be a GGUF LoRA adapter (read with <see cref="GgufReader"/>)
/// for the loaded base model's architecture. Accepted files are kept with the persona's uploads, so versions that
/// name them can be written out.
/// </summary>
public sealed class AdapterUploads(PersonaVersions versions, ILoadedModel? model = null)
{
    public const long MaxBytes = PersonaArchive.MaxAdapterBytes;

    private readonly ILoadedModel _model = model ?? NoLoadedModel.Instance;

    public async Task<AdapterUploadResult> SaveAsync(string personaId, string fileName, Stream content, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(content);
        var name = System.IO.Path.GetFileName(fileName ?? "");
        if (!name.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase) || PackFiles.PathProblem(name) is not null)
            return new AdapterUploadResult(null, null, "An adapter must be a .gguf file with a plain name.");
        var relative = "adapters/" + name;
        var target = System.IO.Path.Combine(versions.UploadsDirectory(personaId), "adapters", name);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(target)!);
        var staging = target + ".upload-" + System.IO.Path.GetRandomFileName();
        try
        {
            await using (var file = File.Create(staging))
            {
                var buffer = new byte[81920];
                long total = 0;
                int read;
                while ((read = await content.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    total += read;
                    if (total > MaxBytes) return new AdapterUploadResult(null, null, $"The adapter is larger than {MaxBytes:N0} bytes.");
                    await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                }
            }
            GgufModelInfo info;
            try
            {
                info = GgufModelInfo.From(GgufReader.Read(staging));
            }
            catch (GgufFormatException e)
            {
                return new AdapterUploadResult(null, null, $"{name} is not a readable GGUF file: {e.Message}");
            }
            if (info.Adapter is null)
                return new AdapterUploadResult(null, null, $"{name} is a {info.Kind}, not a LoRA adapter.");
            if (_model.Architecture is { } architecture && !string.Equals(info.Architecture, architecture, StringComparison.OrdinalIgnoreCase))
                return new AdapterUploadResult(null, null, $"{name} is for the '{info.Architecture}' architecture; the loaded model is '{architecture}'.");
            var sha = await ModelDownloader.Sha256Async(staging, cancellationToken);
            File.Move(staging, target, overwrite: true);
            return new AdapterUploadResult(relative, sha, null);
        }
        finally
        {
            if (File.Exists(staging)) File.Delete(staging);
        }
    }
}
