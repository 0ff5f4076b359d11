using ChatPlatform.Core.Personas;
using ChatPlatform.Testing;
using Xunit;

namespace ChatPlatform.Core.Tests.Personas;

public sealed class PersonaCatalogTests
{
    [Fact]
    public void Load_ReferencePersonas_FindsEachPackById()
    {
        var catalog = PersonaCatalog.Load(RepoPaths.Personas);

        Assert.Equal(["gradchat", "mindchat", "sunsimiao"], catalog.All.Select(p => p.Id));
        Assert.Equal("health", catalog.Find("sunsimiao")?.Domain);
        Assert.Null(catalog.Find("unknown"));
        Assert.Null(catalog.Find(""));
    }

    [Fact]
    public void Load_BrokenPack_IsLeftOutAndItsProblemsAreExposed()
    {
        using var temp = TempPack.CopyOf("mindchat");
        temp.AddCopyOf("gradchat");
        var line = temp.EditLine("safety.yaml", "  - output", "  - outptu");

        var catalog = PersonaCatalog.Load(temp.PersonasDirectory);

        Assert.Null(catalog.Find("mindchat"));
        Assert.NotNull(catalog.Find("gradchat"));
        Assert.True(catalog.HasProblems);
        ProblemAssert.Has(catalog.Problems, temp.ProblemPath("safety.yaml"), line, "unknown safety rail 'outptu'");
        var ex = Assert.Throws<PackLoadException>(catalog.ThrowIfInvalid);
        Assert.Equal(catalog.Problems, ex.Problems);
        Assert.Contains($"safety.yaml:{line}: unknown safety rail", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ThrowIfInvalid_NoProblems_DoesNotThrow()
    {
        var catalog = PersonaCatalog.Load(RepoPaths.Personas);

        Assert.False(catalog.HasProblems);
        catalog.ThrowIfInvalid();
    }

    [Fact]
    public void Constructor_DuplicateIds_Throws()
    {
        var pack = PersonaCatalog.Load(RepoPaths.Personas).Find("mindchat")!;

        Assert.Throws<ArgumentException>(() => new PersonaCatalog([pack, pack with { Name = "Other" }]));
    }
}
