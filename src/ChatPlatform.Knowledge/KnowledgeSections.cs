using ChatPlatform.Core.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace ChatPlatform.Knowledge;

/// <summary>The <c>ChatPlatform:Knowledge</c> section's rules, which the server and the <c>chatplatform</c> command both check.</summary>
public static class KnowledgeSections
{
    /// <summary>A configured embedding model must exist.</summary>
    public static SectionValidator<KnowledgeOptions> Knowledge { get; } = new(KnowledgeOptions.SectionName, static (knowledge, section, errors) =>
        SectionOptions.FileMustExist(knowledge.EmbeddingModelPath, section + ":EmbeddingModelPath", errors));

    /// <summary>Registers <see cref="KnowledgeOptions"/> bound to its section and checked when the host starts.</summary>
    public static IServiceCollection AddKnowledgeOptions(this IServiceCollection services)
    {
        services.AddChatPlatformOptions();
        services.AddSectionOptions(Knowledge);
        return services;
    }
}
