using ChatPlatform.Inference.Gguf;
using ChatPlatform.Testing;
using LLama;
using LLama.Common;
using LLama.Native;
using Xunit;

namespace ChatPlatform.Inference.Tests.Gguf;

public sealed class Qwen2ShapeFixtureTests
{
    [Fact]
    public void WriteQwen2Shape_Q8_0_HasQwen2SizesAndRunsInLlamaCpp()
    {
        var path = Path.Combine(TestModels.CreateScratchFolder(), "qwen2-shape-q8_0.gguf");
        try
        {
            FixtureModels.WriteQwen2Shape(path, TestModels.Seed, GgmlType.Q8_0, cancellationToken: TestContext.Current.CancellationToken);

            var info = GgufFile.Read(path).Info;
            Assert.Equal("qwen2", info.Architecture);
            Assert.Equal(494_032_768, info.ParameterCount);
            Assert.Equal("Q8_0", info.Quantization);
            Assert.Equal("F32+Q8_0", info.TensorTypeMix);
            Assert.Equal(151_936, info.VocabularySize);
            Assert.Equal(32_768, info.ContextLength);
            Assert.Equal(24, info.BlockCount);
            Assert.Equal(896, info.EmbeddingLength);
            Assert.InRange(new FileInfo(path).Length, 495L << 20, 510L << 20);

            using var weights = LLamaWeights.LoadFromFile(new ModelParams(path) { ContextSize = 256, GpuLayerCount = 0 });
            using var context = weights.CreateContext(new ModelParams(path) { ContextSize = 256, GpuLayerCount = 0 });
            var prompt = context.Tokenize("<|im_start|>user\nHello there<|im_end|>\n<|im_start|>assistant\n", false, true);
            var generated = Greedy.Generate(context, prompt, 3);

            Assert.Equal(151_936, weights.Vocab.Count);
            Assert.True(generated.Tokens.Count > 0 || generated.Ended);
            Assert.All(generated.Tokens, t => Assert.InRange((int)t, 0, 151_935));
        }
        finally
        {
            File.Delete(path);
        }
    }
}
