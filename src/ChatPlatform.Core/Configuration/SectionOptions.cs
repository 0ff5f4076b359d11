using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace ChatPlatform.Core.Configuration;

/// <summary>
/// Checks one configuration section: the data annotations of its options type and the rules annotations cannot say.
/// Every problem names its full key, e.g. <c>ChatPlatform:Model:ContextSize is invalid (got '12'): …</c>, so a bad
/// value stops start-up (server) or the command (CLI) with a line that says what to fix. The server and the CLI use
/// the same instance of a section's rules, so they cannot disagree.
/// </summary>
/// <param name="section">The section's path, e.g. <c>ChatPlatform:Model</c>.</param>
/// <param name="rules">Rules beyond the data annotations: each adds its problems, naming keys under the section.</param>
/// <param name="applies">
/// Whether the section is in use at all (e.g. <c>ChatPlatform:Remote</c> only with the remote backend); a section
/// not in use is not checked. Null: always.
/// </param>
public sealed class SectionValidator<T>(string section, Action<T, string, List<string>>? rules = null, Func<bool>? applies = null)
    : IValidateOptions<T>
    where T : class, new()
{
    public string Section { get; } = section;

    /// <summary>Every problem of <paramref name="options"/>, each naming its key; empty when the section is valid.</summary>
    public IReadOnlyList<string> Problems(T options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        if (applies is not null && !applies()) return errors;
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true);
        foreach (var result in results)
        {
            foreach (var member in result.MemberNames)
            {
                var message = result.ErrorMessage ?? "is invalid";
                errors.Add(SectionOptions.IsSecret(member)
                    ? $"{Section}:{member} is invalid: {message}"
                    : $"{Section}:{member} is invalid (got '{typeof(T).GetProperty(member)?.GetValue(options)}'): {message}");
            }
        }
        rules?.Invoke(options, Section, errors);
        return errors;
    }

    /// <summary>Binds the section from <paramref name="configuration"/> (defaults where keys are absent) without checking it.</summary>
    public T Bind(IConfiguration configuration) => SectionOptions.Bind<T>(configuration, Section);

    public ValidateOptionsResult Validate(string? name, T options) =>
        Problems(options) is { Count: > 0 } errors ? ValidateOptionsResult.Fail(errors) : ValidateOptionsResult.Success;
}

public static class SectionOptions
{
    /// <summary>
    /// Registers <typeparamref name="T"/> bound to its section, checked by <paramref name="validator"/> when the host
    /// starts (see <see cref="ValidateAll"/> to check before start-up work), and as a singleton of its own for the
    /// services that take the plain options. Registering the same section twice adds nothing.
    /// </summary>
    public static OptionsBuilder<T> AddSectionOptions<T>(this IServiceCollection services, SectionValidator<T> validator)
        where T : class, new()
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(validator);
        var builder = services.AddOptions<T>();
        if (services.Any(d => d.ServiceType == typeof(IValidateOptions<T>) && d.ImplementationInstance is SectionValidator<T>))
            return builder;
        services.AddSingleton<IValidateOptions<T>>(validator);
        services.TryAddSingleton(sp => sp.GetRequiredService<IOptions<T>>().Value);
        return builder.BindConfiguration(validator.Section).ValidateOnStart();
    }

    /// <summary>Registers the keys directly in the <c>ChatPlatform</c> section (<see cref="ChatPlatformOptions"/>).</summary>
    public static OptionsBuilder<ChatPlatformOptions> AddChatPlatformOptions(this IServiceCollection services) =>
        services.AddSectionOptions(ChatPlatformOptions.Validator);

    /// <summary>
    /// Checks every section registered with <see cref="AddSectionOptions{T}"/> now, and throws one
    /// <see cref="OptionsValidationException"/> listing the problems of all of them (each naming its key).
    /// </summary>
    public static void ValidateAll(IServiceProvider services)
    {
        ArgumentNullException.ThrowIfNull(services);
        try
        {
            services.GetService<IStartupValidator>()?.Validate();
        }
        catch (AggregateException e) when (e.InnerExceptions.All(i => i is OptionsValidationException))
        {
            var failures = e.InnerExceptions.Cast<OptionsValidationException>().SelectMany(i => i.Failures).ToList();
            throw new OptionsValidationException(ChatPlatformOptions.SectionName, typeof(ChatPlatformOptions), failures);
        }
    }

    /// <summary>
    /// The <paramref name="section"/> of <paramref name="configuration"/> (defaults where keys are absent), unchecked:
    /// for what must be decided while services are registered, such as which backend to register.
    /// </summary>
    public static T Bind<T>(IConfiguration configuration, string section)
        where T : class, new()
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var options = new T();
        configuration.GetSection(section).Bind(options);
        return options;
    }

    /// <summary>Whether a value is an absolute http:// or https:// URL.</summary>
    public static bool IsHttpUrl(string? value) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps);

    /// <summary>Adds a problem naming <paramref name="key"/> when <paramref name="path"/> is set but no such file exists.</summary>
    public static void FileMustExist(string? path, string key, List<string> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (!string.IsNullOrWhiteSpace(path) && !File.Exists(path))
            errors.Add($"{key} points to '{path}', which does not exist (resolved to {Path.GetFullPath(path)})");
    }

    /// <summary>Keys whose values are never repeated in a message (API keys, tokens, secrets, passwords).</summary>
    internal static bool IsSecret(string member) =>
        member.EndsWith("Key", StringComparison.Ordinal) || member.Contains("Token", StringComparison.Ordinal)
        || member.Contains("Secret", StringComparison.Ordinal) || member.Contains("Password", StringComparison.Ordinal);
}
