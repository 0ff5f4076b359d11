namespace ChatPlatform.Inference.Gguf;

/// <summary>Fills one chunk of a tensor; <paramref name="firstElement"/> is the chunk's index within the tensor.</summary>
internal delegate void TensorFill(Span<float> chunk, long firstElement, FixtureRandom random);

/// <summary>A fixture tensor: its declaration and how to generate its values, chunk by chunk.</summary>
internal sealed record FixtureTensor(string Name, GgmlType Type, long[] Dimensions, TensorFill Fill)
{
    public static FixtureTensor Constant(string name, float value, params long[] dimensions) =>
        new(name, GgmlType.F32, dimensions, (chunk, _, _) => chunk.Fill(value));

    public static FixtureTensor Random(string name, GgmlType type, float std, params long[] dimensions) =>
        new(name, type, dimensions, (chunk, _, random) => random.FillWithStd(chunk, std));

    /// <summary>A random matrix whose row r (a slice of dimensions[0] values) is scaled by <paramref name="rowScales"/>[r].</summary>
    public static FixtureTensor ScaledRows(string name, GgmlType type, float std, IReadOnlyList<float> rowScales, params long[] dimensions) =>
        new(name, type, dimensions, (chunk, first, random) =>
        {
            random.FillWithStd(chunk, std);
            var rowLength = dimensions[0];
            for (var i = 0; i < chunk.Length;)
            {
                var row = (first + i) / rowLength;
                var rowEnd = (int)Math.Min(chunk.Length, ((row + 1) * rowLength) - first);
                var scale = rowScales[(int)row];
                if (scale != 1f)
                {
                    foreach (ref var value in chunk[i..rowEnd])
                    {
                        value *= scale;
                    }
                }

                i = rowEnd;
            }
        });
}
