using System.Globalization;

namespace ChatPlatform.Inference.Gguf;

/// <summary>
/// The synthetic SentencePiece-style ("llama") vocabulary every fixture uses: control tokens, the 256 byte tokens,
/// single ASCII characters, English words (with every prefix, since llama.cpp's SentencePiece tokenizer only
/// reaches a piece through pairs that are themselves pieces), common Chinese characters, and, for large
/// vocabularies, made-up letter pieces up to a fixed size. English prompts tokenise to about one token per word
/// and Chinese ones to one per character.
/// </summary>
internal sealed class FixtureVocabulary
{
    public const char SpaceMarker = '\u2581';
    public const int Unknown = 0;
    public const int Bos = 1;
    public const int Eos = 2;
    public const int ImStart = 3;
    public const int ImEnd = 4;
    public const int FirstByte = 5;

    public const string ChatMlTemplate =
        "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
        + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

    private const int TypeNormal = 1;
    private const int TypeUnknown = 2;
    private const int TypeControl = 3;
    private const int TypeByte = 6;

    private const string EnglishWords =
        "the be to of and a in that have I it for not on with he as you do at this but his by from they we say her she or an will my one all "
        + "would there their what so up out if about who get which go me when make can like time no just him know take people into year your good "
        + "some could them see other than then now look only come its over think also back after use two how our work first well way even new want "
        + "because any these give day most us is are was were been has had am very help helpful assistant user answer question please thank thanks "
        + "hello hi friendly kind always never should must may might tell ask reply write read story book music food world life love happy sad great "
        + "small big old young long short little own same different right left here where why yes more many much every each few again still before "
        + "under between while through during without within chat talk speak language English Chinese name person friend family home school teacher "
        + "student learn learning teach explain simple clear detail example idea fact true false information topic style tone voice role character "
        + "persona system message conversation respond response keep stay avoid using based provide offer support care safe honest polite warm calm "
        + "patient curious creative fun joke game play travel city country weather today tomorrow yesterday morning night week month water tea coffee "
        + "cat dog tree sun moon star sea river mountain color red blue green white black number three four five ten hundred last next best better sure "
        + "really maybe something nothing everything someone anyone everyone thing things place part problem reason start end open close find feel try "
        + "leave call need become mean let begin seem show hear run move live believe hold bring happen sit stand lose pay meet include continue set "
        + "change lead understand watch follow stop create remember consider appear buy wait serve send expect build fall cut reach remain suggest "
        + "raise pass sell require report decide pull am are do does did doing done said made went gone knew thought told asked called tried felt "
        + "gave found used wanted needed looked seemed left kept let began showed heard played moved lived believed brought happened wrote read";

    private const string ChineseCharacters =
        "的一是不了人我在有他这中大来上个国到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可她里后小么心多天而能好都然没日于起还发成事"
        + "只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向"
        + "情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并内加化由却代军产入先山五太水万市眼体"
        + "别处总才场师书比住员九笑性通目华报立马命张活难神数件安表原车白应路期叫死常提感金何更反合放做系计或司利受光王果亲界及今京务制解各任至清"
        + "物台象记边共风战干接它许八特觉望直服毛林题建南度统色字请交爱让认算论百吃义科怎元社术结六功指思非流每青管夫连远资队跟带花快条院变联言权"
        + "往展该领传近留红治决周保达办运武半候七必城父强步完革深区即求品士转量空甚众技轻程告江语英基派满式李息写呢识极令黄德收脸钱党倒未持取设始"
        + "版双历越史商千片容研像找友孩站广改议形委早房音火际则首单据导影失拿网香似斯专石若兵弟谁校读志飞观争究包组造落视济喜离虽坏兴欢迎谢助答帮"
        + "朋歌乐故闻吗吧啊哦嗯您诉聊天习惯温柔耐礼貌幽默简短详细例句词汉普需喝茶咖啡猫狗树阳星河游戏旅城市冷热雨雪春夏秋冬早晚饭菜"
        + "阿爸班般板宝抱杯背笔遍病播菜参草层查差唱超晨称吃迟尺充虫初除楚穿船窗床创春词村错蛋灯低底掉调丁冬懂朵耳饭访费份丰封服福付负妇复该"
        + "改感刚钢搞哥根够姑古故顾瓜挂怪观惯贵孩害含寒号喝河黑红呼湖虎户护画婚鸡急级计际季继价假架简件健讲脚角较街节姐介紧进静究久酒旧局举"
        + "句绝开考渴克刻客课哭苦块筷况困拉蓝篮懒浪累冷礼例脸练凉亮辆林零另楼绿妈买卖满慢忙每妹米面母拿哪奶男脑内年念鸟牛农努暖怕拍排旁跑皮"
        + "票漂瓶破期奇骑汽钱墙桥晴秋球趣热容肉色商绍舍深省食始试室舒树睡送诉算岁所态谈汤堂糖躺讨疼题甜跳铁停图完玩晚忘味午物希洗系细夏线"
        + "香向些谢姓休需选呀颜爷页夜衣医椅银愿园云站照纸钟周祝注准桌昨左坐杭州梅师犯错释确篇保持静气合适诚实";

    private const string Punctuation = "，。！？、：；“”‘’（）《》…—";

    private const string OutputPunctuation = ",.?，。？";

    private readonly List<string> tokens = [];
    private readonly List<float> scores = [];
    private readonly List<int> types = [];
    private readonly List<float> outputScales = [];
    private readonly HashSet<string> seen = new(StringComparer.Ordinal);

    private FixtureVocabulary(int? size, float endOfTurnOutputScale)
    {
        Add("<unk>", TypeUnknown, 0f);
        Add("<s>", TypeControl, 0f);
        Add("</s>", TypeControl, 0f);
        Add("<|im_start|>", TypeControl, 0f);
        Add("<|im_end|>", TypeControl, endOfTurnOutputScale);
        for (var b = 0; b < 256; b++)
        {
            Add($"<0x{b:X2}>", TypeByte, 0f);
        }

        AddNormal(SpaceMarker.ToString(), 0f);
        for (var c = '!'; c <= '~'; c++)
        {
            AddNormal(c.ToString(), OutputPunctuation.Contains(c, StringComparison.Ordinal) ? 0.7f : 0f);
        }

        foreach (var c in Punctuation)
        {
            AddNormal(c.ToString(), OutputPunctuation.Contains(c, StringComparison.Ordinal) ? 0.7f : 0f);
        }

        var words = EnglishWords.Split(' ', StringSplitOptions.RemoveEmptyEntries).Distinct(StringComparer.Ordinal).ToList();
        var fullWords = new HashSet<string>(words.Select(w => SpaceMarker + w), StringComparer.Ordinal);
        var allForms = words.Concat(words.Select(Capitalise)).Distinct(StringComparer.Ordinal);
        foreach (var word in allForms)
        {
            for (var length = 1; length <= word.Length; length++)
            {
                var piece = SpaceMarker + word[..length];
                AddNormal(piece, fullWords.Contains(piece) ? 1f : 0f);
            }
        }

        // Words at the start of a line or after a special token carry no space marker.
        foreach (var word in allForms)
        {
            for (var length = 2; length <= word.Length; length++)
            {
                AddNormal(word[..length], 0f);
            }
        }

        foreach (var c in ChineseCharacters)
        {
            AddNormal(c.ToString(), 1f);
        }

        if (size is { } target)
        {
            if (target < tokens.Count)
            {
                throw new ArgumentOutOfRangeException(nameof(size), target, $"The base vocabulary already has {tokens.Count} tokens.");
            }

            using var filler = FillerPieces().GetEnumerator();
            while (tokens.Count < target && filler.MoveNext())
            {
                AddNormal(filler.Current, 1f);
            }

            for (var i = 0; tokens.Count < target; i++)
            {
                AddNormal($"<|pad_{i}|>", 1f);
            }
        }
    }

    public int Count => tokens.Count;

    public IReadOnlyList<string> Tokens => tokens;

    /// <summary>How strongly each token's row of <c>output.weight</c> is scaled: 0 for bytes, controls and word
    /// prefixes (so greedy decoding picks words), 1 for words and Chinese characters, more for <c>&lt;|im_end|&gt;</c>.</summary>
    public IReadOnlyList<float> OutputScales => outputScales;

    public static FixtureVocabulary Create(int? size = null, float endOfTurnOutputScale = 1f) => new(size, endOfTurnOutputScale);

    /// <summary>Adds the tokenizer keys (model, tokens, scores, types, special ids, chat template).</summary>
    public void AddMetadata(ICollection<KeyValuePair<string, GgufValue>> metadata)
    {
        metadata.Add(new("tokenizer.ggml.model", GgufValue.Of("llama")));
        metadata.Add(new("tokenizer.ggml.tokens", GgufValue.Of(tokens.ToArray())));
        metadata.Add(new("tokenizer.ggml.scores", GgufValue.Of(scores.ToArray())));
        metadata.Add(new("tokenizer.ggml.token_type", GgufValue.Of(types.ToArray())));
        metadata.Add(new("tokenizer.ggml.bos_token_id", GgufValue.Of((uint)Bos)));
        metadata.Add(new("tokenizer.ggml.eos_token_id", GgufValue.Of((uint)ImEnd)));
        metadata.Add(new("tokenizer.ggml.unknown_token_id", GgufValue.Of((uint)Unknown)));
        metadata.Add(new("tokenizer.ggml.add_bos_token", GgufValue.Of(false)));
        metadata.Add(new("tokenizer.ggml.add_eos_token", GgufValue.Of(false)));
        metadata.Add(new("tokenizer.chat_template", GgufValue.Of(ChatMlTemplate)));
    }

    /// <summary>
    /// Made-up words to pad large vocabularies: every one- to three-letter piece, then four-letter ones in a
    /// scattered order. The set is prefix-closed, so the tokenizer can reach every piece, and output reads as words.
    /// </summary>
    private static IEnumerable<string> FillerPieces()
    {
        const int Letters = 26;
        const int FourLetterCount = Letters * Letters * Letters * Letters;
        for (var length = 1; length <= 3; length++)
        {
            var count = (int)Math.Pow(Letters, length);
            for (var i = 0; i < count; i++)
            {
                yield return Piece(i, length);
            }
        }

        // 7919 is coprime to 26^4, so stepping by it visits every four-letter piece once.
        for (long i = 0; i < FourLetterCount; i++)
        {
            yield return Piece((int)(i * 7919 % FourLetterCount), 4);
        }

        static string Piece(int index, int length)
        {
            Span<char> text = stackalloc char[length + 1];
            text[0] = SpaceMarker;
            for (var position = length; position >= 1; position--)
            {
                text[position] = (char)('a' + (index % Letters));
                index /= Letters;
            }

            return new string(text);
        }
    }

    private static string Capitalise(string word) =>
        char.ToUpper(word[0], CultureInfo.InvariantCulture) + word[1..];

    private void AddNormal(string text, float outputScale)
    {
        if (seen.Contains(text))
        {
            return;
        }

        // Earlier (shorter, commoner) pieces score higher; only ties between competing merges depend on it.
        Add(text, TypeNormal, outputScale, -tokens.Count);
    }

    private void Add(string text, int type, float outputScale, float score = 0f)
    {
        if (!seen.Add(text))
        {
            throw new InvalidOperationException($"Duplicate token '{text}'.");
        }

        tokens.Add(text);
        types.Add(type);
        scores.Add(score);
        outputScales.Add(outputScale);
    }
}
