using ChatPlatform.Core.Configuration;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace ChatPlatform.Inference;

/// <summary>
/// The sections the inference core owns, <c>ChatPlatform:Model</c>, <c>ChatPlatform:Remote</c> and
/// <c>ChatPlatform:Models</c>, with the rules the server and the <c>chatplatform</c> command both check.
/// </summary>
public static class InferenceSections
{
    /// <summary>The base model; with the local backend a configured file must exist.</summary>
    public static SectionValidator<ModelOptions> Model { get; } = new(ModelOptions.SectionName, static (model, section, errors) =>
    {
        if (!model.IsRemote) SectionOptions.FileMustExist(model.Path, section + ":Path", errors);
    });

    /// <summary>The model hub of <c>chatplatform model pull</c>.</summary>
    public static SectionValidator<ModelsOptions> Models { get; } = new(ModelsOptions.SectionName, static (models, section, errors) =>
    {
        if (!SectionOptions.IsHttpUrl(models.HubUrl))
            errors.Add($"{section}:HubUrl is invalid (got '{models.HubUrl}'): it must be an absolute http:// or https:// URL");
    });

    /// <summary>The OpenAI-compatible server; checked only when <paramref name="backendIsRemote"/> says it is used.</summary>
    public static SectionValidator<RemoteOptions> Remote(Func<bool> backendIsRemote) => new(RemoteOptions.SectionName, static (remote, section, errors) =>
    {
        if (!SectionOptions.IsHttpUrl(remote.BaseUrl))
            errors.Add($"{section}:BaseUrl is invalid (got '{remote.BaseUrl}'): with {ModelOptions.SectionName}:Backend = remote it must be the absolute http:// or https:// URL of an OpenAI-compatible server, e.g. http://127.0.0.1:8080/v1");
        if (string.IsNullOrWhiteSpace(remote.Model) && !remote.UsePersonaAsModel)
            errors.Add($"{section}:Model is empty: name the model the server should use, or set {section}:UsePersonaAsModel to true to send the persona id as the model");
    }, backendIsRemote);

    /// <summary>
    /// Registers <see cref="ModelOptions"/>, <see cref="RemoteOptions"/> and <see cref="ModelsOptions"/> bound to their
    /// sections of <paramref name="configuration"/> and checked when the host starts.
    /// </summary>
    public static IServiceCollection AddInferenceOptions(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddChatPlatformOptions();
        services.AddSectionOptions(Model);
        services.AddSectionOptions(Remote(() => Model.Bind(configuration).IsRemote));
        services.AddSectionOptions(Models);
        return services;
    }
}
