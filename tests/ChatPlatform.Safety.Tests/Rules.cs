using ChatPlatform.Core.Personas;
using ChatPlatform.Safety.Output;
using ChatPlatform.Safety.Rails;
using ChatPlatform.Testing;

namespace ChatPlatform.Safety.Tests;

/// <summary>The repository's safety rules and packs, loaded once for all tests.</summary>
internal static class Rules
{
    private static readonly Lazy<SafetyRules> s_rules = new(() => SafetyRules.Load(RepoPaths.Safety));
    private static readonly Lazy<PackSetLoadResult> s_packs = new(() => PackLoader.LoadAll(RepoPaths.Personas));

    public static SafetyRules Safety => s_rules.Value;
    public static InputRails Input { get; } = new(Safety);
    public static OutputRails Output { get; } = OutputRails.Load(Safety, RepoPaths.Safety);

    public static PersonaPack Pack(string id) => s_packs.Value.Packs.Single(p => p.Id == id);
}
