using ChatPlatform.Core.Personas;
using ChatPlatform.Testing;
using Xunit;

namespace ChatPlatform.Core.Tests.Personas;

public sealed class PackLoaderLoadAllTests
{
    [Fact]
    public void LoadAll_MissingPersonasFolder_ReportsProblemInsteadOfThrowing()
    {
        var missing = Path.Combine(Path.GetTempPath(), "chatplatform-tests", Guid.NewGuid().ToString("n"), "personas");

        var result = PackLoader.LoadAll(missing);

        Assert.Empty(result.Packs);
        ProblemAssert.Has(result.Problems, missing, 0, "personas folder not found");
    }

    [Fact]
    public void LoadAll_EmptyPersonasFolder_ReportsNoPacks()
    {
        using var temp = TempPack.CopyOf("mindchat");
        Directory.Delete(temp.Directory, recursive: true);

        var result = PackLoader.LoadAll(temp.PersonasDirectory);

        Assert.Empty(result.Packs);
        ProblemAssert.Has(result.Problems, "personas", 0, "no persona packs found");
    }

    [Fact]
    public void LoadAll_DuplicateId_ReportsBothPacksAndKeepsNeither()
    {
        using var temp = TempPack.CopyOf("mindchat");
        temp.AddCopyOf("mindchat", "mindchat-copy");
        temp.AddCopyOf("gradchat");

        var result = PackLoader.LoadAll(temp.PersonasDirectory);

        var original = Path.Combine("personas", "mindchat", "persona.yaml");
        var copy = Path.Combine("personas", "mindchat-copy", "persona.yaml");
        var idLine = temp.LineOf("persona.yaml", "id: mindchat");
        ProblemAssert.Has(result.Problems, original, idLine, $"duplicate persona id 'mindchat': also used by {copy}");
        ProblemAssert.Has(result.Problems, copy, idLine, $"duplicate persona id 'mindchat': also used by {original}");
        Assert.Equal(2, result.Problems.Count);
        Assert.Equal(["gradchat"], result.Packs.Select(p => p.Id));
    }

    [Fact]
    public void LoadAll_OneBrokenPack_KeepsTheOthersAndReportsItsProblems()
    {
        using var temp = TempPack.CopyOf("mindchat");
        temp.AddCopyOf("sunsimiao");
        var line = temp.EditLine("persona.yaml", "  temperature:", "  temperature: 3.5");

        var result = PackLoader.LoadAll(temp.PersonasDirectory);

        Assert.Equal(["sunsimiao"], result.Packs.Select(p => p.Id));
        var problem = Assert.Single(result.Problems);
        Assert.Equal(
            $"{Path.Combine("personas", "mindchat", "persona.yaml")}:{line}: generation.temperature must be between 0 and 2, got 3.5",
            problem.ToString());
    }

    [Fact]
    public void LoadAll_FoldersWithoutManifest_AreSkipped()
    {
        using var temp = TempPack.CopyOf("mindchat");
        Directory.CreateDirectory(Path.Combine(temp.PersonasDirectory, "shared-notes"));
        Directory.CreateDirectory(Path.Combine(temp.PersonasDirectory, ".drafts", "x"));
        File.WriteAllText(Path.Combine(temp.PersonasDirectory, "README.md"), "# personas");

        var result = PackLoader.LoadAll(temp.PersonasDirectory);

        ProblemAssert.None(result.Problems);
        Assert.Equal(["mindchat"], result.Packs.Select(p => p.Id));
    }

    [Fact]
    public void LoadAll_RelativePath_ReportsPathsRelativeToParentOfPersonas()
    {
        using var temp = TempPack.CopyOf("gradchat");
        temp.EditLine("safety.yaml", "  - output", "  - outptu");
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, temp.PersonasDirectory);

        var result = PackLoader.LoadAll(relative);

        var problem = Assert.Single(result.Problems);
        Assert.Equal(Path.Combine("personas", "gradchat", "safety.yaml"), problem.Path);
    }
}
