using System.ComponentModel.DataAnnotations;
using ChatPlatform.Core.Configuration;
using Xunit;

namespace ChatPlatform.Core.Tests.Configuration;

/// <summary>What a section's check reports: the full key of each bad value, never a secret's value.</summary>
public sealed class SectionValidatorTests
{
    private sealed class Sample
    {
        [Range(1, 10)]
        public int Count { get; set; } = 1;

        [MinLength(32)]
        public string? SigningKey { get; set; }

        public string? Url { get; set; }
    }

    private static readonly SectionValidator<Sample> Validator = new("ChatPlatform:Sample", static (sample, section, errors) =>
    {
        if (sample.Url is not null && !SectionOptions.IsHttpUrl(sample.Url))
            errors.Add($"{section}:Url must be an http:// or https:// URL");
    });

    [Fact]
    public void Problems_ValidSection_None()
    {
        Assert.Empty(Validator.Problems(new Sample { Url = "https://example.org" }));
        Assert.True(Validator.Validate(null, new Sample()).Succeeded);
    }

    [Fact]
    public void Problems_AnnotationAndRule_EachNamesItsKey()
    {
        var problems = Validator.Problems(new Sample { Count = 12, Url = "ftp://example.org" });

        Assert.Equal(2, problems.Count);
        Assert.StartsWith("ChatPlatform:Sample:Count is invalid (got '12'): ", problems[0], StringComparison.Ordinal);
        Assert.Equal("ChatPlatform:Sample:Url must be an http:// or https:// URL", problems[1]);
        Assert.True(Validator.Validate(null, new Sample { Count = 0 }).Failed);
    }

    [Fact]
    public void Problems_SecretTooShort_KeyNamedValueNot()
    {
        var problem = Assert.Single(Validator.Problems(new Sample { SigningKey = "hunter2" }));

        Assert.StartsWith("ChatPlatform:Sample:SigningKey is invalid: ", problem, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Problems_SectionNotInUse_NotChecked()
    {
        var unused = new SectionValidator<Sample>("ChatPlatform:Sample", applies: () => false);

        Assert.Empty(unused.Problems(new Sample { Count = 99 }));
    }
}
