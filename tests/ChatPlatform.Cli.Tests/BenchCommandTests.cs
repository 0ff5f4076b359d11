using System.Text.Json;
using ChatPlatform.Inference.Gguf;
using ChatPlatform.Testing;
using Xunit;

namespace ChatPlatform.Cli.Tests;

/// <summary>The benchmark runs end to end and reports every figure; its numbers are judged by people, not here.</summary>
public sealed class BenchCommandTests
{
    [Fact]
    public async Task Bench_TinyModel_WritesEveryFigureAsJson()
    {
        var folder = TestModels.CreateScratchFolder();
        var model = Path.Combine(folder, "tiny.gguf");
        File.Copy(TestModels.TinyPath, model);
        var json = Path.Combine(folder, "bench.json");

        var result = await CliRunner.RunAsync("bench", "--model", model, "--tokens", "8", "--threads", "2", "--json", json);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("raw_decode_tps", result.Out, StringComparison.Ordinal);
        var root = JsonDocument.Parse(await File.ReadAllTextAsync(json, TestContext.Current.CancellationToken)).RootElement;
        Assert.True(root.GetProperty("raw_decode_tps").GetDouble() > 0);
        Assert.True(root.GetProperty("single_stream_tps").GetDouble() > 0);
        foreach (var n in new[] { "1", "2", "4", "8" })
            Assert.True(root.GetProperty("aggregate_tps").GetProperty(n).GetDouble() > 0);
        Assert.True(root.GetProperty("mixed_aggregate_tps").GetDouble() > 0);
        Assert.True(root.GetProperty("ttft_ms").GetProperty("cold").GetDouble() > 0);
        Assert.True(root.GetProperty("ttft_ms").GetProperty("warm").GetDouble() > 0);
        Assert.True(root.GetProperty("rss_mb").GetProperty("one_persona").GetDouble() > 0);
        Assert.True(root.GetProperty("rss_mb").GetProperty("three_personas").GetDouble() > 0);
        Assert.Equal(6, root.GetProperty("goals").GetArrayLength());
        Assert.All(Enumerable.Range(1, 3), i => Assert.True(GgufFile.Read(Path.Combine(folder, $"tiny-lora-{i}.gguf")).Info.IsAdapter));
    }

    [Fact]
    public async Task Bench_Profile_ReportsWhereEachMeasurementSpentItsSteps()
    {
        var folder = TestModels.CreateScratchFolder();
        var model = Path.Combine(folder, "tiny.gguf");
        File.Copy(TestModels.TinyPath, model);
        var json = Path.Combine(folder, "bench.json");

        var result = await CliRunner.RunAsync("bench", "--model", model, "--tokens", "4", "--threads", "2", "--profile", "--json", json);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("decode loop profile", result.Out, StringComparison.Ordinal);
        var root = JsonDocument.Parse(await File.ReadAllTextAsync(json, TestContext.Current.CancellationToken)).RootElement;
        var profile = root.GetProperty("profile");
        foreach (var name in new[] { "single_stream", "aggregate@1", "aggregate@2", "aggregate@4", "aggregate@8", "mixed" })
            Assert.Contains("ms/step", profile.GetProperty(name).GetString(), StringComparison.Ordinal);
    }
}
