using System.Collections;
using System.Globalization;

namespace ChatPlatform.Inference.Gguf;

/// <summary>
/// One GGUF metadata value: a scalar (boxed as the matching CLR type), a string, or an array of one element type
/// (held as a CLR array: <c>uint[]</c>, <c>float[]</c>, <c>string[]</c>, ...).
/// Create values with the <c>Of</c> overloads, whose CLR parameter type picks the GGUF type.
/// </summary>
public sealed class GgufValue : IEquatable<GgufValue>
{
    private GgufValue(GgufValueType type, GgufValueType? elementType, object value)
    {
        Type = type;
        ElementType = elementType;
        Value = value;
    }

    public GgufValueType Type { get; }

    /// <summary>Element type when <see cref="Type"/> is <see cref="GgufValueType.Array"/>; otherwise null.</summary>
    public GgufValueType? ElementType { get; }

    /// <summary>The boxed scalar, string, or CLR array.</summary>
    public object Value { get; }

    public bool IsArray => Type == GgufValueType.Array;

    /// <summary>Number of elements of an array value.</summary>
    public int ArrayLength => Value is Array array ? array.Length : throw NotA("an array");

    public static GgufValue Of(byte value) => new(GgufValueType.UInt8, null, value);

    public static GgufValue Of(sbyte value) => new(GgufValueType.Int8, null, value);

    public static GgufValue Of(ushort value) => new(GgufValueType.UInt16, null, value);

    public static GgufValue Of(short value) => new(GgufValueType.Int16, null, value);

    public static GgufValue Of(uint value) => new(GgufValueType.UInt32, null, value);

    public static GgufValue Of(int value) => new(GgufValueType.Int32, null, value);

    public static GgufValue Of(float value) => new(GgufValueType.Float32, null, value);

    public static GgufValue Of(bool value) => new(GgufValueType.Bool, null, value);

    public static GgufValue Of(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return new(GgufValueType.String, null, value);
    }

    public static GgufValue Of(ulong value) => new(GgufValueType.UInt64, null, value);

    public static GgufValue Of(long value) => new(GgufValueType.Int64, null, value);

    public static GgufValue Of(double value) => new(GgufValueType.Float64, null, value);

    public static GgufValue Of(byte[] values) => MakeArray(GgufValueType.UInt8, values);

    public static GgufValue Of(sbyte[] values) => MakeArray(GgufValueType.Int8, values);

    public static GgufValue Of(ushort[] values) => MakeArray(GgufValueType.UInt16, values);

    public static GgufValue Of(short[] values) => MakeArray(GgufValueType.Int16, values);

    public static GgufValue Of(uint[] values) => MakeArray(GgufValueType.UInt32, values);

    public static GgufValue Of(int[] values) => MakeArray(GgufValueType.Int32, values);

    public static GgufValue Of(float[] values) => MakeArray(GgufValueType.Float32, values);

    public static GgufValue Of(bool[] values) => MakeArray(GgufValueType.Bool, values);

    public static GgufValue Of(string[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (Array.IndexOf(values, null) >= 0)
        {
            throw new ArgumentException("String arrays cannot hold null.", nameof(values));
        }

        return MakeArray(GgufValueType.String, values);
    }

    public static GgufValue Of(ulong[] values) => MakeArray(GgufValueType.UInt64, values);

    public static GgufValue Of(long[] values) => MakeArray(GgufValueType.Int64, values);

    public static GgufValue Of(double[] values) => MakeArray(GgufValueType.Float64, values);

    /// <summary>The string of a string value.</summary>
    public string AsString() => Value as string ?? throw NotA("a string");

    /// <summary>The value of any integer type, widened; throws for other types or a <c>u64</c> above <see cref="long.MaxValue"/>.</summary>
    public long AsInt64() => Value switch
    {
        byte v => v,
        sbyte v => v,
        ushort v => v,
        short v => v,
        uint v => v,
        int v => v,
        long v => v,
        ulong v when v <= long.MaxValue => (long)v,
        ulong v => throw new InvalidOperationException($"{v} does not fit a signed 64-bit integer."),
        _ => throw NotA("an integer"),
    };

    /// <summary>The value of a float or integer type as a double.</summary>
    public double AsDouble() => Value switch
    {
        float v => v,
        double v => v,
        bool => throw NotA("a number"),
        string or Array => throw NotA("a number"),
        _ => AsInt64(),
    };

    public bool AsBool() => Value is bool v ? v : throw NotA("a bool");

    /// <summary>The elements of an array value whose CLR element type is <typeparamref name="T"/>.</summary>
    public IReadOnlyList<T> AsArray<T>() => Value as T[] ?? throw NotA($"an array of {typeof(T).Name}");

    public bool Equals(GgufValue? other)
    {
        if (other is null || other.Type != Type || other.ElementType != ElementType)
        {
            return false;
        }

        return Value is IStructuralEquatable structural
            ? structural.Equals(other.Value, StructuralComparisons.StructuralEqualityComparer)
            : Value.Equals(other.Value);
    }

    public override bool Equals(object? obj) => Equals(obj as GgufValue);

    public override int GetHashCode() => Value is IStructuralEquatable structural
        ? HashCode.Combine(Type, structural.GetHashCode(StructuralComparisons.StructuralEqualityComparer))
        : HashCode.Combine(Type, Value);

    /// <summary>A short human-readable rendering; long arrays are abbreviated.</summary>
    public override string ToString()
    {
        if (Value is Array array)
        {
            var shown = array.Cast<object>().Take(8).Select(Format);
            var more = array.Length > 8 ? $", ... ({array.Length} items)" : string.Empty;
            return $"[{string.Join(", ", shown)}{more}]";
        }

        return Format(Value);
    }

    private static string Format(object value) => value switch
    {
        string s => "\"" + (s.Length > 80 ? s[..80] + "..." : s) + "\"",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? string.Empty,
    };

    private static GgufValue MakeArray(GgufValueType elementType, Array values)
    {
        ArgumentNullException.ThrowIfNull(values);
        return new(GgufValueType.Array, elementType, values);
    }

    private InvalidOperationException NotA(string what) =>
        new($"GGUF value of type {Type}{(ElementType is { } e ? $" of {e}" : string.Empty)} is not {what}.");
}
