using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace ChatPlatform.Inference.Gguf;

/// <summary>
/// Deterministic generator for fixture weights: four xoshiro256++ streams run side by side in a
/// <see cref="Vector256{T}"/>, seeded through SplitMix64. Output depends only on the seed, never on the hardware.
/// </summary>
internal sealed class FixtureRandom
{
    private Vector256<ulong> s0;
    private Vector256<ulong> s1;
    private Vector256<ulong> s2;
    private Vector256<ulong> s3;

    public FixtureRandom(ulong seed)
    {
        var state = seed;
        s0 = Vector256.Create(SplitMix64(ref state), SplitMix64(ref state), SplitMix64(ref state), SplitMix64(ref state));
        s1 = Vector256.Create(SplitMix64(ref state), SplitMix64(ref state), SplitMix64(ref state), SplitMix64(ref state));
        s2 = Vector256.Create(SplitMix64(ref state), SplitMix64(ref state), SplitMix64(ref state), SplitMix64(ref state));
        s3 = Vector256.Create(SplitMix64(ref state), SplitMix64(ref state), SplitMix64(ref state), SplitMix64(ref state));
    }

    /// <summary>A generator for one named stream (e.g. one tensor) of a seeded fixture.</summary>
    public static FixtureRandom For(ulong seed, string stream)
    {
        // FNV-1a over the UTF-16 code units: stable across runs and platforms, unlike string.GetHashCode.
        var hash = 14695981039346656037UL;
        foreach (var c in stream)
        {
            hash = (hash ^ c) * 1099511628211UL;
        }

        var mixed = seed ^ hash;
        return new FixtureRandom(SplitMix64(ref mixed));
    }

    public static ulong SplitMix64(ref ulong state)
    {
        var z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Fills <paramref name="destination"/> with values uniform in [-amplitude, amplitude).</summary>
    public void FillUniform(Span<float> destination, float amplitude)
    {
        var scale = Vector256.Create(amplitude / 2147483648f);
        ref var target = ref MemoryMarshal.GetReference(destination);
        var i = 0;
        for (; i + Vector256<float>.Count <= destination.Length; i += Vector256<float>.Count)
        {
            var values = Vector256.ConvertToSingle(Next().AsInt32()) * scale;
            values.StoreUnsafe(ref target, (nuint)i);
        }

        if (i < destination.Length)
        {
            var values = Vector256.ConvertToSingle(Next().AsInt32()) * scale;
            for (var lane = 0; i < destination.Length; i++, lane++)
            {
                destination[i] = values.GetElement(lane);
            }
        }
    }

    /// <summary>Fills with values of standard deviation <paramref name="std"/> (uniform, so |x| stays below 1.74 std).</summary>
    public void FillWithStd(Span<float> destination, float std) => FillUniform(destination, std * MathF.Sqrt(3f));

    private Vector256<ulong> Next()
    {
        var sum = s0 + s3;
        var result = ((sum << 23) | (sum >>> 41)) + s0;
        var t = s1 << 17;
        s2 ^= s0;
        s3 ^= s1;
        s1 ^= s2;
        s0 ^= s3;
        s2 ^= t;
        s3 = (s3 << 45) | (s3 >>> 19);
        return result;
    }
}
