using System.Globalization;
using System.Text;
using System.Text.Json.Serialization;

namespace ChatPlatform.Inference.Benchmarks;

/// <summary>What <see cref="InferenceBenchmark"/> measured, with the goals the core is held to.</summary>
public sealed class BenchmarkResult
{
    [JsonPropertyName("model")] public string Model { get; set; } = "";
    [JsonPropertyName("threads")] public int Threads { get; set; }
    [JsonPropertyName("output_tokens")] public int OutputTokens { get; set; }
    [JsonPropertyName("raw_decode_tps")] public double RawDecodeTps { get; set; }
    /// <summary>The plain loop with four conversations batched: what the hardware gives without the platform.</summary>
    [JsonPropertyName("raw_aggregate_tps_4")] public double RawAggregateTps4 { get; set; }
    [JsonPropertyName("single_stream_tps")] public double SingleStreamTps { get; set; }
    [JsonPropertyName("aggregate_tps")] public Dictionary<string, double> AggregateTps { get; } = [];
    [JsonPropertyName("mixed_aggregate_tps")] public double MixedAggregateTps { get; set; }
    [JsonPropertyName("persona_prompt_tokens")] public int PersonaPromptTokens { get; set; }
    [JsonPropertyName("ttft_ms")] public Dictionary<string, double> TtftMs { get; } = [];
    [JsonPropertyName("rss_mb")] public Dictionary<string, double> RssMb { get; } = [];
    [JsonPropertyName("adapter_mb")] public double AdapterMb { get; set; }
    [JsonPropertyName("kv_budget_mb")] public double KvBudgetMb { get; set; }

    /// <summary>With <c>--profile</c>: where the core's decode loop spent each measurement's time (see <c>EngineTimings</c>).</summary>
    [JsonPropertyName("profile"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Dictionary<string, string>? Profile { get; set; }

    [JsonIgnore] public double TtftColdMs { get => TtftMs.GetValueOrDefault("cold"); set => TtftMs["cold"] = value; }
    [JsonIgnore] public double TtftWarmMs { get => TtftMs.GetValueOrDefault("warm"); set => TtftMs["warm"] = value; }
    [JsonIgnore] public double RssMbOnePersona { get => RssMb.GetValueOrDefault("one_persona"); set => RssMb["one_persona"] = value; }
    [JsonIgnore] public double RssMbThreePersonas { get => RssMb.GetValueOrDefault("three_personas"); set => RssMb["three_personas"] = value; }

    /// <summary>Each goal with the measured ratio and whether it holds.</summary>
    [JsonPropertyName("goals")]
    public IReadOnlyList<BenchmarkGoal> Goals
    {
        get
        {
            double Aggregate(int n) => AggregateTps.GetValueOrDefault(n.ToString(CultureInfo.InvariantCulture));
            return
            [
                new("single_stream_tps >= 0.90 x raw_decode_tps", Ratio(SingleStreamTps, RawDecodeTps), 0.90),
                new("aggregate_tps@4 >= 1.45 x single_stream_tps", Ratio(Aggregate(4), SingleStreamTps), 1.45),
                new("aggregate_tps@8 >= 2.0 x single_stream_tps", Ratio(Aggregate(8), SingleStreamTps), 2.0),
                new("mixed_aggregate_tps >= 0.8 x aggregate_tps@4", Ratio(MixedAggregateTps, Aggregate(4)), 0.8),
                new("ttft warm <= 0.2 x ttft cold", Ratio(TtftWarmMs, TtftColdMs), 0.2, LowerIsBetter: true),
                new("rss 3 personas <= rss 1 persona + 3 x (adapter + KV budget)",
                    Ratio(RssMbThreePersonas, RssMbOnePersona + 3 * (AdapterMb + KvBudgetMb)), 1.0, LowerIsBetter: true),
            ];
        }
    }

    private static double Ratio(double a, double b) => b <= 0 ? 0 : a / b;

    public string ToTable()
    {
        var s = new StringBuilder();
        string F(double v) => v.ToString("0.0", CultureInfo.InvariantCulture);
        s.AppendLine(CultureInfo.InvariantCulture, $"model {Model}, {Threads} thread(s), {OutputTokens} output tokens per reply");
        s.AppendLine("metric                         value");
        s.AppendLine(CultureInfo.InvariantCulture, $"raw_decode_tps                 {F(RawDecodeTps)}");
        s.AppendLine(CultureInfo.InvariantCulture, $"raw_aggregate_tps@4            {F(RawAggregateTps4)}");
        s.AppendLine(CultureInfo.InvariantCulture, $"single_stream_tps              {F(SingleStreamTps)}");
        foreach (var (n, tps) in AggregateTps)
            s.AppendLine(CultureInfo.InvariantCulture, $"aggregate_tps@{n,-16} {F(tps)}");
        s.AppendLine(CultureInfo.InvariantCulture, $"mixed_aggregate_tps            {F(MixedAggregateTps)}");
        s.AppendLine(CultureInfo.InvariantCulture, $"ttft_ms cold ({PersonaPromptTokens} tok prompt) {F(TtftColdMs)}");
        s.AppendLine(CultureInfo.InvariantCulture, $"ttft_ms warm                   {F(TtftWarmMs)}");
        s.AppendLine(CultureInfo.InvariantCulture, $"rss_mb one persona             {F(RssMbOnePersona)}");
        s.AppendLine(CultureInfo.InvariantCulture, $"rss_mb three personas          {F(RssMbThreePersonas)}");
        s.AppendLine(CultureInfo.InvariantCulture, $"adapter_mb / kv_budget_mb      {AdapterMb.ToString("0.00", CultureInfo.InvariantCulture)} / {F(KvBudgetMb)}");
        if (Profile is { Count: > 0 })
        {
            s.AppendLine();
            s.AppendLine("decode loop profile");
            foreach (var (name, line) in Profile)
                s.AppendLine(CultureInfo.InvariantCulture, $"{name,-14} {line}");
        }
        s.AppendLine();
        s.AppendLine("goal                                                         ratio   holds");
        foreach (var g in Goals)
            s.AppendLine(CultureInfo.InvariantCulture, $"{g.Name,-60} {g.Ratio.ToString("0.00", CultureInfo.InvariantCulture),5}   {(g.Holds ? "yes" : "NO")}");
        return s.ToString();
    }
}

public sealed record BenchmarkGoal(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("ratio")] double Ratio,
    [property: JsonPropertyName("target")] double Target,
    [property: JsonIgnore] bool LowerIsBetter = false)
{
    [JsonPropertyName("holds")]
    public bool Holds => LowerIsBetter ? Ratio <= Target : Ratio >= Target;
}
