using System.Diagnostics;
using System.Globalization;

namespace ChatPlatform.Inference.Local;

/// <summary>
/// Where the decode loop's time goes, per step: llama.cpp's decode, sampling, turning tokens into streamed text, and
/// the rest (admitting, reaping, scheduling). Collected only while <see cref="InferenceEngine.CollectTimings"/> is on,
/// for benchmarks; written by the loop alone, so read it while the engine is idle.
/// </summary>
public sealed class EngineTimings
{
    private long _stepTicks;
    private long _decodeTicks;
    private long _sampleTicks;
    private long _textTicks;

    /// <summary>Loop iterations that decoded something.</summary>
    public long Steps { get; internal set; }

    /// <summary>llama_decode calls (one per lane per step).</summary>
    public long Decodes { get; internal set; }

    /// <summary>Tokens decoded (prompts included).</summary>
    public long Tokens { get; internal set; }

    /// <summary>Tokens sampled.</summary>
    public long Samples { get; internal set; }

    public TimeSpan Step => Stopwatch.GetElapsedTime(0, _stepTicks);
    public TimeSpan Decode => Stopwatch.GetElapsedTime(0, _decodeTicks);
    public TimeSpan Sample => Stopwatch.GetElapsedTime(0, _sampleTicks);
    public TimeSpan Text => Stopwatch.GetElapsedTime(0, _textTicks);

    /// <summary>Step time outside decode, sampling and text.</summary>
    public TimeSpan Other => Step - Decode - Sample - Text;

    public void Reset()
    {
        _stepTicks = _decodeTicks = _sampleTicks = _textTicks = 0;
        Steps = Decodes = Tokens = Samples = 0;
    }

    /// <summary>Adds one finished step, all parts at once, so a reset between steps never splits one.</summary>
    internal void Add(in StepClock clock)
    {
        _stepTicks += Stopwatch.GetTimestamp() - clock.Start;
        _decodeTicks += clock.DecodeTicks;
        _sampleTicks += clock.SampleTicks;
        _textTicks += clock.TextTicks;
        Steps++;
        Decodes += clock.Decodes;
        Tokens += clock.Tokens;
        Samples += clock.Samples;
    }

    /// <summary>One line: milliseconds per step for each part, and per sampled token for sampling.</summary>
    public override string ToString()
    {
        double PerStep(TimeSpan t) => Steps == 0 ? 0 : t.TotalMilliseconds / Steps;
        return string.Create(CultureInfo.InvariantCulture,
            $"{Steps} steps, {Decodes} decodes of {Tokens} tokens, {Samples} samples; ms/step: total {PerStep(Step):0.00}, decode {PerStep(Decode):0.00}, " +
            $"sample {PerStep(Sample):0.00} ({(Samples == 0 ? 0 : Sample.TotalMilliseconds / Samples):0.000}/token), text {PerStep(Text):0.00}, other {PerStep(Other):0.00}");
    }
}

/// <summary>One step's timings, kept on the loop's stack; every call is free when timing is off.</summary>
internal struct StepClock(bool on)
{
    public readonly bool On = on;
    public readonly long Start = on ? Stopwatch.GetTimestamp() : 0;
    public long DecodeTicks;
    public long SampleTicks;
    public long TextTicks;
    public int Decodes;
    public int Tokens;
    public int Samples;

    public readonly long Now() => On ? Stopwatch.GetTimestamp() : 0;

    public void Decoded(long start, int tokens)
    {
        if (!On) return;
        DecodeTicks += Stopwatch.GetTimestamp() - start;
        Decodes++;
        Tokens += tokens;
    }

    /// <summary>Ends the sampling part and returns the start of the text part.</summary>
    public long Sampled(long start)
    {
        if (!On) return 0;
        var now = Stopwatch.GetTimestamp();
        SampleTicks += now - start;
        Samples++;
        return now;
    }

    public void Streamed(long start)
    {
        if (On) TextTicks += Stopwatch.GetTimestamp() - start;
    }
}
