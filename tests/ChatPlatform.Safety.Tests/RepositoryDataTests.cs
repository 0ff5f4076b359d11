using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using ChatPlatform.Testing;
using Xunit;

namespace ChatPlatform.Safety.Tests;

/// <summary>The repository holds the weights trained from public datasets, never their sentences.</summary>
public sealed class RepositoryDataTests
{
    private static readonly string[] s_textExtensions = [".jsonl", ".json", ".md", ".txt", ".cs", ".yaml", ".yml", ".razor", ".js", ".html", ".csv", ".sh"];
    private static readonly string[] s_skippedFolders = ["bin", "obj", ".git", "node_modules", "TestResults"];
    private static readonly JsonSerializerOptions s_raw = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    [Fact]
    public void Repository_HasNoSentenceOfTheSharedDevelopmentSplit()
    {
        var shared = SafetyTrainingTests.SharedSafetyData;
        if (!Directory.Exists(shared)) Assert.Skip($"{shared} is not in this checkout");
        var sentences = Directory.EnumerateFiles(shared, "*.jsonl")
            .SelectMany(File.ReadLines)
            .Where(l => !string.IsNullOrWhiteSpace(l))
            .Select(l => JsonDocument.Parse(l).RootElement)
            // The split's synthetic PII lines were written for this project (its README says so); the rest are public data.
            .Where(row => row.GetProperty("source").GetString()!.Split(':')[0] != "synthetic")
            .Select(row => row.GetProperty("text").GetString()!)
            // Very short lines ("hi", a name) are not anyone's sentence.
            .Where(t => t.Trim().Length >= 20)
            .Distinct(StringComparer.Ordinal)
            .ToList();
        Assert.NotEmpty(sentences);

        var files = RepositoryTextFiles().ToList();
        var found = new List<string>();
        foreach (var file in files)
        {
            var content = File.ReadAllText(file, Encoding.UTF8);
            foreach (var sentence in sentences)
            {
                // As written, and as a JSON string would hold it (escaped quotes, \uXXXX or raw characters).
                if (content.Contains(sentence, StringComparison.Ordinal)
                    || content.Contains(JsonSerializer.Serialize(sentence)[1..^1], StringComparison.Ordinal)
                    || content.Contains(JsonSerializer.Serialize(sentence, s_raw)[1..^1], StringComparison.Ordinal))
                    found.Add($"{Path.GetRelativePath(RepoPaths.Root, file)}: {sentence[..Math.Min(60, sentence.Length)]}");
            }
        }
        Assert.True(files.Count > 100, $"only {files.Count} files were read");
        Assert.True(found.Count == 0, "dataset sentences in the repository:\n" + string.Join('\n', found.Take(20)));
    }

    private static IEnumerable<string> RepositoryTextFiles()
    {
        var pending = new Stack<string>([RepoPaths.Root]);
        while (pending.Count > 0)
        {
            var dir = pending.Pop();
            foreach (var sub in Directory.EnumerateDirectories(dir))
                if (!s_skippedFolders.Contains(Path.GetFileName(sub))) pending.Push(sub);
            foreach (var file in Directory.EnumerateFiles(dir))
                if (s_textExtensions.Contains(Path.GetExtension(file)) && new FileInfo(file).Length < 8 << 20) yield return file;
        }
    }
}
