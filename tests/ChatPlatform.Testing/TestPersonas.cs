using ChatPlatform.Core.Personas;

namespace ChatPlatform.Testing;

/// <summary>Persona packs built in memory, for tests that do not read pack files.</summary>
public static class TestPersonas
{
    public static PersonaPack Create(string id = "testbot", string systemPrompt = "You are a test assistant.") => new()
    {
        Id = id,
        Name = "Test Bot",
        Domain = "education",
        Version = "1.0.0",
        Directory = Path.GetTempPath(),
        Locales = ["en", "zh-CN"],
        Greeting = new Dictionary<string, string> { ["en"] = "Hello!", ["zh-CN"] = "你好！" },
        SystemPrompt = new Dictionary<string, string> { ["en"] = systemPrompt, ["zh-CN"] = "你是测试助手。" },
    };

    public static IPersonaCatalog Catalog(params PersonaPack[] packs) => new ListCatalog(packs);

    private sealed class ListCatalog(IReadOnlyList<PersonaPack> packs) : IPersonaCatalog
    {
        public IReadOnlyList<PersonaPack> All => packs;
        public PersonaPack? Find(string id) => packs.FirstOrDefault(p => p.Id == id);
    }
}
