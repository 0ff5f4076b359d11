using System.Security.Cryptography;
using System.Text;
using ChatPlatform.Core.Personas;
using ChatPlatform.Testing;
using Xunit;

namespace ChatPlatform.Core.Tests.Personas;

/// <summary>Each test copies a reference pack, breaks one thing, and checks the problem's path and line.</summary>
public sealed class PackLoaderTests : IDisposable
{
    private const string Manifest = "persona.yaml";
    private const string Safety = "safety.yaml";

    private readonly TempPack _pack = TempPack.CopyOf("mindchat");

    public void Dispose() => _pack.Dispose();

    private PackLoadResult Load() => PackLoader.Load(_pack.Directory);

    private PackProblem AssertProblem(string file, int line, string fragment)
    {
        var result = Load();
        Assert.Null(result.Pack);
        return ProblemAssert.Has(result.Problems, _pack.ProblemPath(file), line, fragment);
    }

    /// <summary>Deletes a top-level key of a YAML file with everything nested below it.</summary>
    private void RemoveTopLevelKey(string file, string key)
    {
        var lines = _pack.Read(file).Split('\n').ToList();
        var start = lines.FindIndex(l => l.StartsWith(key + ":", StringComparison.Ordinal));
        Assert.True(start >= 0, $"{key} not found in {file}");
        var end = start + 1;
        while (end < lines.Count && (lines[end].StartsWith(' ') || lines[end].StartsWith('-')))
            end++;
        lines.RemoveRange(start, end - start);
        _pack.Write(file, string.Join('\n', lines));
    }

    private int AddAdapter(string path, string? scale = null, string? sha256 = null)
    {
        var entry = $"adapters:\n  - path: {path}"
            + (scale is null ? "" : $"\n    scale: {scale}")
            + (sha256 is null ? "" : $"\n    sha256: {sha256}");
        return _pack.Replace(Manifest, "adapters: []", entry) + 1;
    }

    [Fact]
    public void Load_CopyOfReferencePack_IsValid()
    {
        var result = Load();

        ProblemAssert.None(result.Problems);
        Assert.Equal("mindchat", result.Pack!.Id);
        Assert.Equal(_pack.Directory, result.Pack.Directory);
    }

    [Fact]
    public void Load_BadYamlSyntax_ReportsYamlLineAndStillChecksSafetyFile()
    {
        var line = _pack.EditLine(Manifest, "name:", "name: MindChat: 漫谈");
        _pack.EditLine(Safety, "  - output", "  - outptu");

        var result = Load();

        Assert.Null(result.Pack);
        ProblemAssert.Has(result.Problems, _pack.ProblemPath(Manifest), line, "invalid YAML");
        ProblemAssert.Has(result.Problems, _pack.ProblemPath(Safety), _pack.LineOf(Safety, "  - outptu"), "unknown safety rail");
    }

    [Fact]
    public void Load_DuplicateKey_ReportsYamlLine()
    {
        var line = _pack.Replace(Manifest, "domain: counselling\n", "domain: counselling\ndomain: health\n") + 1;

        AssertProblem(Manifest, line, "Duplicate key");
    }

    [Fact]
    public void Load_EmptyManifest_ReportsEmptyFile()
    {
        _pack.Write(Manifest, "# nothing yet\n");

        AssertProblem(Manifest, 1, "file is empty");
    }

    [Fact]
    public void Load_ManifestNotAMapping_ReportsTopLevel()
    {
        _pack.Write(Manifest, "- id: mindchat\n");

        AssertProblem(Manifest, 1, "expected a mapping");
    }

    [Fact]
    public void Load_MissingManifest_ReportsFileLineZero()
    {
        _pack.Delete(Manifest);

        AssertProblem(Manifest, 0, "persona.yaml is missing");
    }

    [Fact]
    public void Load_MissingSafetyFile_ReportsFileLineZero()
    {
        _pack.Delete(Safety);

        AssertProblem(Safety, 0, "safety.yaml is missing");
    }

    [Fact]
    public void Load_MissingPackFolder_ReportsFolder()
    {
        var result = PackLoader.Load(Path.Combine(_pack.PersonasDirectory, "nowhere"));

        Assert.Null(result.Pack);
        ProblemAssert.Has(result.Problems, Path.Combine("personas", "nowhere"), 0, "pack folder not found");
    }

    [Theory]
    [InlineData("id")]
    [InlineData("name")]
    [InlineData("domain")]
    [InlineData("version")]
    [InlineData("locales")]
    [InlineData("greeting")]
    [InlineData("channels")]
    public void Load_MissingRequiredField_ReportsLineOne(string key)
    {
        RemoveTopLevelKey(Manifest, key);

        AssertProblem(Manifest, 1, $"{key} is required");
    }

    [Theory]
    [InlineData("rails")]
    [InlineData("disclaimer")]
    [InlineData("outOfScope")]
    public void Load_MissingRequiredSafetyField_ReportsLineOne(string key)
    {
        RemoveTopLevelKey(Safety, key);

        AssertProblem(Safety, 1, $"{key} is required");
    }

    [Fact]
    public void Load_EmptyRequiredValue_ReportsKeyLine()
    {
        var line = _pack.EditLine(Manifest, "name:", "name:");

        AssertProblem(Manifest, line, "name must not be empty");
    }

    [Fact]
    public void Load_MissingGreetingForLocale_ReportsGreetingLine()
    {
        _pack.EditLine(Manifest, "  en: Hi", null);

        AssertProblem(Manifest, _pack.LineOf(Manifest, "greeting:"), "greeting.en is required");
    }

    [Fact]
    public void Load_GreetingForUndeclaredLocale_ReportsEntryLine()
    {
        var line = _pack.Replace(Manifest, "greeting:\n", "greeting:\n  zh-TW: 你好\n") + 1;

        AssertProblem(Manifest, line, "greeting.zh-TW: 'zh-TW' is not one of the pack's locales");
    }

    [Fact]
    public void Load_MissingDisclaimerForLocale_ReportsDisclaimerLine()
    {
        _pack.EditLine(Safety, "  en: I'm an AI companion", null);

        AssertProblem(Safety, _pack.LineOf(Safety, "disclaimer:"), "disclaimer.en is required");
    }

    [Fact]
    public void Load_MissingSystemPromptFile_ReportsLocaleLine()
    {
        _pack.Delete("system.en.md");

        AssertProblem(Manifest, _pack.LineOf(Manifest, "  - en\n"), "system.en.md is missing");
    }

    [Fact]
    public void Load_EmptySystemPromptFile_ReportsThatFile()
    {
        _pack.Write("system.en.md", " \n\n");

        AssertProblem("system.en.md", 0, "system prompt for locale 'en' is empty");
    }

    [Fact]
    public void Load_SystemPromptForUndeclaredLocale_ReportsThatFile()
    {
        _pack.Write("system.fr.md", "Une invite pour une langue que le pack ne déclare pas.");

        AssertProblem("system.fr.md", 0, "'fr' is not in persona.yaml locales");
    }

    [Theory]
    [InlineData("../outside.gguf", "points outside the pack folder")]
    [InlineData("adapters/../../outside.gguf", "points outside the pack folder")]
    [InlineData("/tmp/outside.gguf", "must be relative to the pack folder")]
    [InlineData("~/outside.gguf", "must be relative to the pack folder")]
    public void Load_AdapterPathOutsidePack_ReportsPathLine(string path, string fragment)
    {
        File.WriteAllBytes(Path.Combine(_pack.PersonasDirectory, "outside.gguf"), [1, 2, 3]);
        var line = AddAdapter(path);

        AssertProblem(Manifest, line, fragment);
    }

    [Fact]
    public void Load_AdapterSymlinkLeadingOutside_ReportsPathLine()
    {
        var outside = Path.Combine(_pack.Root, "outside.gguf");
        File.WriteAllBytes(outside, [1, 2, 3]);
        Directory.CreateDirectory(_pack.PathOf("adapters"));
        File.CreateSymbolicLink(_pack.PathOf("adapters/style.gguf"), outside);
        var line = AddAdapter("adapters/style.gguf");

        AssertProblem(Manifest, line, "symbolic link that leads outside the pack folder");
    }

    [Fact]
    public void Load_AdapterInSymlinkedFolderLeadingOutside_ReportsPathLine()
    {
        var outsideDir = Path.Combine(_pack.Root, "weights");
        Directory.CreateDirectory(outsideDir);
        File.WriteAllBytes(Path.Combine(outsideDir, "style.gguf"), [1, 2, 3]);
        Directory.CreateSymbolicLink(_pack.PathOf("adapters"), outsideDir);
        var line = AddAdapter("adapters/style.gguf");

        AssertProblem(Manifest, line, "symbolic link that leads outside the pack folder");
    }

    [Fact]
    public void Load_AdapterSymlinkInsidePack_IsAccepted()
    {
        _pack.Write("adapters/style-v2.gguf", [1, 2, 3]);
        File.CreateSymbolicLink(_pack.PathOf("adapters/style.gguf"), "style-v2.gguf");
        AddAdapter("adapters/style.gguf");

        var result = Load();

        ProblemAssert.None(result.Problems);
    }

    [Fact]
    public void Load_AdapterPathIsAFolder_ReportsPathLine()
    {
        _pack.Write("adapters/style.gguf", [1, 2, 3]);
        var line = AddAdapter("adapters");

        AssertProblem(Manifest, line, "is a folder");
    }

    [Fact]
    public void Load_MissingAdapterFile_ReportsPathLine()
    {
        var line = AddAdapter("adapters/missing.gguf");

        AssertProblem(Manifest, line, "adapter file 'adapters/missing.gguf' not found");
    }

    [Theory]
    [InlineData("2.5")]
    [InlineData("-0.1")]
    public void Load_AdapterScaleOutOfRange_ReportsScaleLine(string scale)
    {
        _pack.Write("adapters/style.gguf", [1, 2, 3]);
        var line = AddAdapter("adapters/style.gguf", scale) + 1;

        AssertProblem(Manifest, line, $"adapters[0].scale must be between 0 and 2, got {scale}");
    }

    [Fact]
    public void Load_AdapterSha256Mismatch_ReportsSha256Line()
    {
        _pack.Write("adapters/style.gguf", Encoding.UTF8.GetBytes("adapter bytes"));
        var other = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("other bytes")));
        var line = AddAdapter("adapters/style.gguf", "1.0", other) + 2;

        AssertProblem(Manifest, line, "adapters[0].sha256 does not match 'adapters/style.gguf'");
    }

    [Fact]
    public void Load_AdapterSha256NotHex_ReportsSha256Line()
    {
        _pack.Write("adapters/style.gguf", [1, 2, 3]);
        var line = AddAdapter("adapters/style.gguf", "1.0", "abc123") + 2;

        AssertProblem(Manifest, line, "adapters[0].sha256 must be 64 hexadecimal digits");
    }

    [Fact]
    public void Load_ValidAdapter_IsResolvedToAbsolutePath()
    {
        var bytes = Encoding.UTF8.GetBytes("adapter bytes");
        _pack.Write("adapters/style.gguf", bytes);
        var sha = Convert.ToHexString(SHA256.HashData(bytes)); // upper case is accepted
        AddAdapter("adapters/style.gguf", "0.8", sha);

        var result = Load();

        ProblemAssert.None(result.Problems);
        var adapter = Assert.Single(result.Pack!.Adapters);
        Assert.Equal(_pack.PathOf(Path.Combine("adapters", "style.gguf")), adapter.Path);
        Assert.Equal(0.8f, adapter.Scale);
        Assert.Equal(sha.ToLowerInvariant(), adapter.Sha256);
    }

    [Fact]
    public void Load_UnknownSafetyRail_ReportsRailLine()
    {
        var line = _pack.EditLine(Safety, "  - output", "  - outptu");

        AssertProblem(Safety, line, "unknown safety rail 'outptu'");
    }

    [Fact]
    public void Load_RailTypo_IsReportedOnceNotForEveryEvalThatUsesTheRail()
    {
        _pack.EditLine(Safety, "  - pii", "  - pi");

        var result = Load();

        var problem = Assert.Single(result.Problems);
        Assert.Equal(_pack.ProblemPath(Safety), problem.Path);
    }

    [Fact]
    public void Load_LocaleTypo_IsNotReportedAgainForEveryEval()
    {
        _pack.EditLine(Manifest, "  - en", "  - en-US");

        var result = Load();

        Assert.DoesNotContain(result.Problems, p => p.Path.Contains("evals", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_WithoutCrisisRail_ReportsRailsLine()
    {
        _pack.EditLine(Safety, "  - crisis", null);

        AssertProblem(Safety, _pack.LineOf(Safety, "rails:"), "rails must include 'crisis'");
    }

    [Fact]
    public void Load_CrisisDisabled_ReportsEnabledLine()
    {
        var line = _pack.EditLine(Safety, "  enabled:", "  enabled: false");

        AssertProblem(Safety, line, "crisis.enabled cannot be false");
    }

    [Fact]
    public void Load_HealthPackWithoutMedicalEmergencyRail_ReportsRailsLine()
    {
        using var health = TempPack.CopyOf("sunsimiao");
        health.EditLine(Safety, "  - medical_emergency", null);

        var result = PackLoader.Load(health.Directory);

        ProblemAssert.Has(result.Problems, health.ProblemPath(Safety), health.LineOf(Safety, "rails:"), "must include 'medical_emergency'");
    }

    [Fact]
    public void Load_BadWebhook_ReportsWebhookLine()
    {
        var line = _pack.EditLine(Safety, "  notifyWebhook:", "  notifyWebhook: ops-team");

        AssertProblem(Safety, line, "crisis.notifyWebhook must be an http(s) URL");
    }

    [Fact]
    public void Load_Thresholds_ReadPerRail()
    {
        _pack.Replace(Safety, "thresholds:\n  crisis: 0.35\n", "thresholds:\n  crisis: 0.3\n  injection: 0.9\n");

        var result = Load();

        ProblemAssert.None(result.Problems);
        Assert.Equal(0.3f, result.Pack!.Safety.Thresholds[SafetyRails.Crisis]);
        Assert.Equal(0.9f, result.Pack.Safety.Thresholds[SafetyRails.Injection]);
        Assert.False(result.Pack.Safety.Thresholds.ContainsKey(SafetyRails.MedicalEmergency));
    }

    [Theory]
    [InlineData("  crisis: 0.8", "thresholds.crisis may only make the crisis rail more sensitive")]
    [InlineData("  injection: 1.5", "thresholds.injection must be between 0.01 and 0.99, got 1.5")]
    [InlineData("  scope: 0.5", "unknown key 'thresholds.scope'")]
    public void Load_BadThreshold_ReportsItsLine(string entry, string fragment)
    {
        var line = _pack.Replace(Safety, "thresholds:\n  crisis: 0.35\n", "thresholds:\n" + entry + "\n") + 1;

        AssertProblem(Safety, line, fragment);
    }

    [Theory]
    [InlineData("fr", "unknown locale 'fr'")]
    [InlineData("zh-cn", "(did you mean 'zh-CN'?)")]
    [InlineData("en-US", "(did you mean 'en'?)")]
    public void Load_UnknownLocale_ReportsLocaleLine(string locale, string fragment)
    {
        var line = _pack.EditLine(Manifest, "  - en", $"  - {locale}");

        AssertProblem(Manifest, line, fragment);
    }

    [Fact]
    public void Load_EmptyLocales_ReportsLocalesLineOnly()
    {
        var line = _pack.Replace(Manifest, "locales:\n  - zh-CN\n  - en\n", "locales: []\n");

        var result = Load();

        var problem = Assert.Single(result.Problems);
        Assert.Equal((_pack.ProblemPath(Manifest), line), (problem.Path, problem.Line));
        Assert.Contains("at least one locale", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Load_DuplicateLocale_ReportsSecondEntry()
    {
        var line = _pack.Replace(Manifest, "  - en\n", "  - en\n  - en\n") + 1;

        AssertProblem(Manifest, line, "locale 'en' is listed twice");
    }

    [Fact]
    public void Load_UnknownChannel_ReportsChannelLine()
    {
        var line = _pack.EditLine(Manifest, "channels:", "channels: [web, api, whatsapp]");

        AssertProblem(Manifest, line, "unknown channel 'whatsapp'");
    }

    [Theory]
    [InlineData("MindChat")]
    [InlineData("m")]
    [InlineData("-mindchat")]
    [InlineData("mind_chat")]
    [InlineData("a23456789012345678901234567890123456789012345678x")]
    public void Load_BadId_ReportsIdLine(string id)
    {
        var line = _pack.EditLine(Manifest, "id:", $"id: {id}");

        AssertProblem(Manifest, line, $"got '{id}'");
    }

    [Fact]
    public void Load_VersionNotSemantic_ReportsVersionLine()
    {
        var line = _pack.EditLine(Manifest, "version:", "version: 1.0");

        AssertProblem(Manifest, line, "version must look like 1.2.0");
    }

    [Theory]
    [InlineData("  temperature:", "  temperature: hot", "generation.temperature must be a number, got 'hot'")]
    [InlineData("  temperature:", "  temperature: \"0.7\"", "generation.temperature must be a number, got quoted text \"0.7\"")]
    [InlineData("  maxTokens:", "  maxTokens: 512.5", "generation.maxTokens must be a whole number, got '512.5'")]
    [InlineData("  stop:", "  stop: <|im_end|>", "generation.stop must be a list")]
    [InlineData("channels:", "channels: web", "channels must be a list, got 'web'")]
    public void Load_WrongValueType_ReportsValueLine(string lineStart, string newLine, string message)
    {
        var line = _pack.EditLine(Manifest, lineStart, newLine);

        AssertProblem(Manifest, line, message);
    }

    [Fact]
    public void Load_ScalarWhereMappingExpected_ReportsValueLine()
    {
        var line = _pack.Replace(Manifest, "model:\n  architectures: [qwen2, llama]\n  minContext: 4096\n", "model: qwen2\n");

        AssertProblem(Manifest, line, "model must be a mapping of keys to values, got 'qwen2'");
    }

    [Fact]
    public void Load_BooleanWrittenAsYes_ReportsValueLine()
    {
        var line = _pack.EditLine(Safety, "redactPii:", "redactPii: yes");

        AssertProblem(Safety, line, "redactPii must be true or false, got 'yes'");
    }

    [Theory]
    [InlineData("  temperature:", "  temprature: 0.7", "unknown key 'generation.temprature'; did you mean 'temperature'?")]
    [InlineData("description:", "descripton: >-", "unknown key 'descripton'; did you mean 'description'?")]
    [InlineData("channels:", "channel: [web]", "unknown key 'channel'; did you mean 'channels'?")]
    public void Load_UnknownKey_ReportsKeyLine(string lineStart, string newLine, string message)
    {
        var line = _pack.EditLine(Manifest, lineStart, newLine);

        AssertProblem(Manifest, line, message);
    }

    [Fact]
    public void Load_UnknownSafetyKey_ReportsKeyLine()
    {
        var line = _pack.EditLine(Safety, "redactPii:", "redactPII: true");

        AssertProblem(Safety, line, "unknown key 'redactPII'; did you mean 'redactPii'?");
    }

    [Theory]
    [InlineData("  temperature:", "  temperature: 3.5", "generation.temperature must be between 0 and 2, got 3.5")]
    [InlineData("  temperature:", "  temperature: -0.1", "generation.temperature must be between 0 and 2, got -0.1")]
    [InlineData("  topP:", "  topP: 1.5", "generation.topP must be between 0 and 1, got 1.5")]
    [InlineData("  topK:", "  topK: -1", "generation.topK must be at least 0, got -1")]
    [InlineData("  repeatPenalty:", "  repeatPenalty: 0.5", "generation.repeatPenalty must be between 1 and 2, got 0.5")]
    [InlineData("  maxTokens:", "  maxTokens: 0", "generation.maxTokens must be between 1 and 8192, got 0")]
    [InlineData("  maxTokens:", "  maxTokens: 9000", "generation.maxTokens must be between 1 and 8192, got 9000")]
    [InlineData("  minContext:", "  minContext: -5", "model.minContext must be between 0 and 1048576, got -5")]
    public void Load_GenerationValueOutOfRange_ReportsValueLine(string lineStart, string newLine, string message)
    {
        var line = _pack.EditLine(Manifest, lineStart, newLine);

        AssertProblem(Manifest, line, message);
    }

    [Fact]
    public void Load_MaxTokensNotBelowMinContext_ReportsGenerationLine()
    {
        _pack.EditLine(Manifest, "  maxTokens:", "  maxTokens: 4096");

        AssertProblem(Manifest, _pack.LineOf(Manifest, "generation:"), "generation.maxTokens (4096) must be smaller than model.minContext (4096)");
    }

    [Fact]
    public void Load_ManyProblems_ReportsAllInOnePass()
    {
        var temperature = _pack.EditLine(Manifest, "  temperature:", "  temperature: 3.5");
        var channel = _pack.EditLine(Manifest, "channels:", "channels: [web, fax]");
        var id = _pack.EditLine(Manifest, "id:", "id: Mind Chat");
        var rail = _pack.EditLine(Safety, "  - output", "  - outptu");
        _pack.Write("system.en.md", "");

        var result = Load();

        Assert.Null(result.Pack);
        ProblemAssert.Has(result.Problems, _pack.ProblemPath(Manifest), temperature, "generation.temperature");
        ProblemAssert.Has(result.Problems, _pack.ProblemPath(Manifest), channel, "unknown channel 'fax'");
        ProblemAssert.Has(result.Problems, _pack.ProblemPath(Manifest), id, "id must be");
        ProblemAssert.Has(result.Problems, _pack.ProblemPath(Safety), rail, "unknown safety rail");
        ProblemAssert.Has(result.Problems, _pack.ProblemPath("system.en.md"), 0, "is empty");
        Assert.Equal(5, result.Problems.Count);
    }

    [Fact]
    public void Problem_ToString_IsPathColonLineColonMessage()
    {
        var line = _pack.EditLine(Manifest, "  temperature:", "  temperature: 3.5");

        var problem = AssertProblem(Manifest, line, "temperature");

        Assert.Equal(
            $"{Path.Combine("personas", "mindchat", "persona.yaml")}:{line}: generation.temperature must be between 0 and 2, got 3.5",
            problem.ToString());
    }

    [Fact]
    public void Load_OptionalSectionsOmitted_UsesDefaults()
    {
        RemoveTopLevelKey(Manifest, "generation");
        RemoveTopLevelKey(Manifest, "adapters");
        RemoveTopLevelKey(Manifest, "model");
        RemoveTopLevelKey(Manifest, "description");
        RemoveTopLevelKey(Safety, "crisis");
        RemoveTopLevelKey(Safety, "redactPii");

        var result = Load();

        ProblemAssert.None(result.Problems);
        var defaults = new GenerationSettings();
        Assert.Equal(defaults.Temperature, result.Pack!.Generation.Temperature);
        Assert.Equal(defaults.MaxTokens, result.Pack.Generation.MaxTokens);
        Assert.Null(result.Pack.Generation.Seed);
        Assert.Empty(result.Pack.Adapters);
        Assert.Empty(result.Pack.Model.Architectures);
        Assert.Equal("", result.Pack.Description);
        Assert.True(result.Pack.Safety.Crisis.Enabled);
        Assert.True(result.Pack.Safety.RedactPii);
    }

    [Fact]
    public void Load_GenerationSettings_AreRead()
    {
        _pack.Replace(Manifest, "  stop: []", "  seed: 42\n  stop: [\"<|im_end|>\"]");

        var generation = Load().Pack!.Generation;

        Assert.Equal(0.7f, generation.Temperature);
        Assert.Equal(0.9f, generation.TopP);
        Assert.Equal(40, generation.TopK);
        Assert.Equal(1.1f, generation.RepeatPenalty);
        Assert.Equal(512, generation.MaxTokens);
        Assert.Equal(42u, generation.Seed);
        Assert.Equal(["<|im_end|>"], generation.Stop);
    }

    [Fact]
    public void Load_KnowledgeFolder_IsExposedWhenPresent()
    {
        Directory.Delete(_pack.PathOf("knowledge"), recursive: true);
        Assert.Null(Load().Pack!.KnowledgeDirectory);
        _pack.Write("knowledge/faq.md", "# FAQ");

        Assert.Equal(_pack.PathOf("knowledge"), Load().Pack!.KnowledgeDirectory);
    }
}
