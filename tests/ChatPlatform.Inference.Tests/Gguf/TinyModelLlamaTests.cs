using System.Diagnostics;
using System.Text;
using ChatPlatform.Testing;
using LLama;
using LLama.Common;
using LLama.Sampling;
using Xunit;

namespace ChatPlatform.Inference.Tests.Gguf;

/// <summary>The tiny fixture loaded by the real llama.cpp through LLamaSharp.</summary>
public sealed class TinyModelLlamaTests
{
    private const string EnglishPersona =
        "You are Mei, a warm and patient language teacher. You help students learn Chinese and English through simple conversation.\n"
        + "Always answer in short, clear sentences. When the user makes a mistake, explain the correct form with an example, then ask a question.";

    private const string ChinesePersona =
        "你是梅老师，一位温柔耐心的语言老师。你通过简单的对话帮助学生学习中文和英文。\n请用简短、清楚的句子回答。当用户犯错时，先用例句解释正确的说法，然后再问一个问题。";

    [Fact]
    public void LoadFromFile_TinyModel_LoadsFastWithItsContextAndVocabulary()
    {
        var path = TestModels.TinyPath;
        var stopwatch = Stopwatch.StartNew();

        using var weights = LoadTiny();

        Assert.InRange(stopwatch.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(2));
        Assert.Equal(8192, weights.ContextSize);
        Assert.Equal(64, weights.EmbeddingSize);
        Assert.Equal(Inference.Gguf.GgufFile.Read(path).Info.VocabularySize, weights.Vocab.Count);
    }

    [Fact]
    public void LLamaTemplate_TinyModel_ProducesChatMl()
    {
        using var weights = LoadTiny();
        var template = new LLamaTemplate(weights) { AddAssistant = true };
        template.Add("system", "Be kind.");
        template.Add("user", "Hi");

        var prompt = Encoding.UTF8.GetString(template.Apply());

        Assert.Equal("<|im_start|>system\nBe kind.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n", prompt);
    }

    [Fact]
    public void Tokenize_ChatMlMarkersWithSpecialParsing_GiveSingleControlTokens()
    {
        using var weights = LoadTiny();

        var start = weights.Tokenize("<|im_start|>", false, true, Encoding.UTF8);
        var end = weights.Tokenize("<|im_end|>", false, true, Encoding.UTF8);

        Assert.Single(start);
        Assert.Single(end);
        Assert.Equal(weights.Vocab.EOS, end[0]);
        Assert.True(weights.Vocab.EOS!.Value.IsControl(weights.Vocab));
    }

    [Theory]
    [InlineData(EnglishPersona, 0.45)]
    [InlineData(ChinesePersona, 1.05)]
    public void Tokenize_PersonaText_StaysCompact(string text, double maxTokensPerCharacter)
    {
        using var weights = LoadTiny();

        var tokens = weights.Tokenize(text, false, true, Encoding.UTF8);

        Assert.InRange(tokens.Length, 1, (int)(text.Length * maxTokensPerCharacter));
    }

    [Fact]
    public void Generate_GreedyTwice_GivesTheSameNonEmptyWords()
    {
        using var weights = LoadTiny();

        var first = GenerateReply(weights, "Hello, who are you?");
        var second = GenerateReply(weights, "Hello, who are you?");

        Assert.Equal(first, second);
        Assert.False(string.IsNullOrWhiteSpace(first));
        Assert.DoesNotContain("<0x", first, StringComparison.Ordinal);
        Assert.DoesNotContain("<|", first, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StatelessExecutor_ZeroTemperaturePipeline_GivesTheSameTextTwice()
    {
        using var weights = LoadTiny();
        var prompt = ChatPrompt(weights, "你好，请介绍一下你自己。");

        async Task<string> RunAsync()
        {
            var executor = new StatelessExecutor(weights, new ModelParams(TestModels.TinyPath) { ContextSize = 2048, GpuLayerCount = 0 });
            var inference = new InferenceParams
            {
                MaxTokens = 24,
                SamplingPipeline = new DefaultSamplingPipeline { Temperature = 0, Seed = 1 },
            };
            var text = new StringBuilder();
            await foreach (var piece in executor.InferAsync(prompt, inference, TestContext.Current.CancellationToken))
            {
                text.Append(piece);
            }

            return text.ToString();
        }

        var first = await RunAsync();
        var second = await RunAsync();

        Assert.Equal(first, second);
        Assert.False(string.IsNullOrWhiteSpace(first));
    }

    [Fact]
    public void Generate_SeveralPrompts_StartWithWordsAndSometimesEndOnTheirOwn()
    {
        using var weights = LoadTiny();
        string[] prompts = ["Tell me a story about a cat.", "你好，请介绍一下你自己。", "What is the weather like today?", "我喜欢喝茶，你呢？", "Can you help me with my homework?", "Give me three ideas for dinner."];

        var results = prompts.Select(p => Generate(weights, p, 80)).ToList();

        Assert.True(results.Count(r => r.Tokens.Count > 0) >= prompts.Length - 1, "Most replies should not end at once.");
        Assert.Contains(results, r => r.Ended);
    }

    [Fact]
    public void LoraAdapter_ScaleOne_ChangesTheNextTokenLogitsAndGreedyReply()
    {
        using var weights = LoadTiny();
        var adapter = weights.NativeHandle.LoadLoraFromFile(TestModels.LoraPath);
        string[] prompts = ["Hello, who are you?", "你好，请介绍一下你自己。", "Tell me a story about a cat."];

        foreach (var prompt in prompts)
        {
            var plain = NextTokenLogits(weights, prompt, null);
            var adapted = NextTokenLogits(weights, prompt, (adapter, 1f));

            Assert.NotEqual(plain, adapted);
        }

        var plainReplies = prompts.Select(p => Generate(weights, p, 12).Text).ToList();
        var adaptedReplies = prompts.Select(p => Generate(weights, p, 12, (adapter, 1f)).Text).ToList();
        Assert.NotEqual(plainReplies, adaptedReplies);
    }

    [Fact]
    public void LoraAdapter_ScaleZero_LeavesLogitsIdentical()
    {
        using var weights = LoadTiny();
        var adapter = weights.NativeHandle.LoadLoraFromFile(TestModels.LoraPath);

        var plain = NextTokenLogits(weights, "Hello, who are you?", null);
        var zero = NextTokenLogits(weights, "Hello, who are you?", (adapter, 0f));

        Assert.Equal(plain, zero);
    }

    private static LLamaWeights LoadTiny() =>
        LLamaWeights.LoadFromFile(new ModelParams(TestModels.TinyPath) { ContextSize = 2048, GpuLayerCount = 0 });

    private static LLamaContext CreateContext(LLamaWeights weights, (LLama.Native.LoraAdapter Adapter, float Scale)? lora)
    {
        var context = weights.CreateContext(new ModelParams(TestModels.TinyPath) { ContextSize = 2048, GpuLayerCount = 0 });
        if (lora is { } l)
        {
            context.NativeHandle.SetLoraAdapters([l]);
        }

        return context;
    }

    private static string ChatPrompt(LLamaWeights weights, string user)
    {
        var template = new LLamaTemplate(weights) { AddAssistant = true };
        template.Add("system", "You are a friendly assistant.");
        template.Add("user", user);
        return Encoding.UTF8.GetString(template.Apply());
    }

    private static float[] NextTokenLogits(LLamaWeights weights, string user, (LLama.Native.LoraAdapter, float)? lora)
    {
        using var context = CreateContext(weights, lora);
        return Greedy.NextTokenLogits(context, context.Tokenize(ChatPrompt(weights, user), false, true));
    }

    private static (string Text, IReadOnlyList<LLama.Native.LLamaToken> Tokens, bool Ended) Generate(
        LLamaWeights weights, string user, int maxTokens, (LLama.Native.LoraAdapter, float)? lora = null)
    {
        using var context = CreateContext(weights, lora);
        return Greedy.Generate(context, context.Tokenize(ChatPrompt(weights, user), false, true), maxTokens);
    }

    private static string GenerateReply(LLamaWeights weights, string user) => Generate(weights, user, 24).Text;
}
