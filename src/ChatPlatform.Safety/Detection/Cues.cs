using System.Text.RegularExpressions;

namespace ChatPlatform.Safety.Detection;

/// <summary>
/// Structural cues of a message, in both languages, that carry over between sources where phrasing does not: who
/// the message is about (first or third person), whether it asks for information, negation, and the shape of an
/// injection (an override or an output order after other text, a request for hidden instructions). Each is a 0/1
/// input to every family's combiner, which learns from data how much each one counts for that family; none fires a
/// rail on its own. Cues of style rather than meaning (the language, the length) were tried and left out: the
/// combiners learned from them which source a line came from, and raised false alarms on other sources.
/// </summary>
public static partial class Cues
{
    /// <summary>The cue names, in the order of <see cref="Compute"/>'s values; stored in the weights file to check it matches.</summary>
    public static readonly IReadOnlyList<string> Names =
    [
        "first_person", "third_person", "info_question", "negation", "death", "self_harm", "override", "output_order",
        "hidden_text", "new_role", "harm_other", "illicit", "fiction_or_research", "order_after_text", "protective",
    ];

    public static int Count => Names.Count;

    /// <summary>The cues of a normalised text (see <see cref="Text.TextNormalizer"/>).</summary>
    public static float[] Compute(string normalized)
    {
        var cues = new float[Names.Count];
        cues[0] = Flag(FirstPerson().IsMatch(normalized));
        cues[1] = Flag(ThirdPerson().IsMatch(normalized));
        cues[2] = Flag(InfoQuestion().IsMatch(normalized));
        cues[3] = Flag(Negation().IsMatch(normalized));
        cues[4] = Flag(Death().IsMatch(normalized));
        cues[5] = Flag(SelfHarm().IsMatch(normalized));
        var overrideMatch = Override().Match(normalized);
        var orderMatch = OutputOrder().Match(normalized);
        cues[6] = Flag(overrideMatch.Success);
        cues[7] = Flag(orderMatch.Success);
        cues[8] = Flag(HiddenText().IsMatch(normalized));
        cues[9] = Flag(NewRole().IsMatch(normalized));
        cues[10] = Flag(HarmOther().IsMatch(normalized));
        cues[11] = Flag(Illicit().IsMatch(normalized));
        cues[12] = Flag(FictionOrResearch().IsMatch(normalized));
        // Goal hijacking: a question or task first, then the order that replaces it.
        var first = Math.Min(overrideMatch.Success ? overrideMatch.Index : int.MaxValue, orderMatch.Success ? orderMatch.Index : int.MaxValue);
        cues[13] = Flag(first != int.MaxValue && first >= 8);
        cues[14] = Flag(Protective().IsMatch(normalized));
        return cues;
    }

    /// <summary>
    /// Whether a normalised text speaks of its writer: "I", "me", 我, but not "my son" or 我妈, whose subject is
    /// someone else. Where the sentence embedder does not read a message, a weak crisis cue in a message that does not
    /// speak of its writer is weighed by the classifier instead of firing (see <see cref="Detector"/>).
    /// </summary>
    public static bool SpeaksOfSelf(string normalized) => Self().IsMatch(normalized);

    /// <summary>
    /// Whether a message's weak cues (<paramref name="lexicon"/>'s) are all said of someone else: in each clause where
    /// one matches, the words before it name someone else and not the writer ("看到同事自杀", "my brother has been self
    /// harming"), or end with someone else as the one who acts ("我觉得自从同事自杀后", "她甚至威胁要自杀"), or the cue
    /// names an event ("我目睹了一起跳楼事件"). A clause that names no one before its cue does not say whom it is about;
    /// then this is false and <see cref="SpeaksOfSelf"/> decides for the whole message.
    /// </summary>
    /// <param name="clauses">The message's clauses, each normalised (see <see cref="ReportedSpeech.Clauses"/>).</param>
    public static bool SaidOfOthers(IEnumerable<string> clauses, Lexicon lexicon)
    {
        var any = false;
        foreach (var clause in clauses)
        {
            foreach (var at in lexicon.WeakCuePositions(clause))
            {
                var before = clause[..at];
                if (!AttachedToSomeoneElse().IsMatch(before) && !CueNamesAnEvent().IsMatch(clause, at)
                    && (Self().IsMatch(before) || !SomeoneElse().IsMatch(before))) return false;
                any = true;
            }
        }
        return any;
    }

    private const string SomeoneElseZh = "他|她|朋友|同学|学生|来访者|咨询者|患者|病人|孩子|家人|别人|某人|有人|网友|男生|女生|青少年|年轻人|人们|大家|闺蜜|室友|舍友|同事|老板|领导|老师|班主任|邻居|爸|妈|父亲|母亲|爷爷|奶奶|外公|外婆|姥姥|姥爷|哥|姐|弟|妹|儿子|女儿|老公|老婆|丈夫|妻子|男朋友|女朋友|对象|亲戚|舅|姨|叔|姑";

    /// <summary>Someone other than the writer: a third-person pronoun or a person named by role or kinship.</summary>
    [GeneratedRegex(@"\b(he|she|they|someone|somebody|people|everyone|everybody|client|patient|student|friend|son|daughter|brother|sister|husband|wife|partner|boyfriend|girlfriend|mom|mum|dad|mother|father|parents?|grandma|grandpa|grandmother|grandfather|aunt|uncle|cousin|niece|nephew|kid|child|classmate|roommate|coworker|colleague|boss|teacher|neighbou?r|teen|teenager)s?\b"
        + "|" + SomeoneElseZh, RegexOptions.CultureInvariant)]
    internal static partial Regex SomeoneElse();

    /// <summary>
    /// Text that ends with someone else as the subject of what follows, with at most a few adverbs or verbs of intent
    /// between: "我觉得自从同事" + 自杀, "她甚至威胁要" + 自杀. The writer named earlier in the clause is not the one
    /// who acts; "我一看到他就" + 想死 does not match (就 starts the writer's own predicate).
    /// </summary>
    [GeneratedRegex("(" + SomeoneElseZh + ")(也|都|又|还|曾经?|已经|竟然|居然|甚至|差点|险些|试图|企图|威胁(说)?|要|想|打算|选择了?|不幸)*$", RegexOptions.CultureInvariant)]
    private static partial Regex AttachedToSomeoneElse();

    /// <summary>A cue used as the name of an event ("目睹了一起跳楼事件", "自杀新闻"): the clause reports it, nobody in it wishes it.</summary>
    [GeneratedRegex(@"\G\w{1,4}?(事件|新闻|案件?|事故|现场|的消息|的报道|的新闻)", RegexOptions.CultureInvariant)]
    private static partial Regex CueNamesAnEvent();

    private static float Flag(bool value) => value ? 1f : 0f;

    private const RegexOptions Options = RegexOptions.CultureInvariant;

    [GeneratedRegex(@"\b(i|im|ive|id|ill|me|my|myself|mine)\b|我", Options)]
    private static partial Regex FirstPerson();

    /// <summary>What follows 我 when it names someone else: 我妈, 我的朋友, 我们.</summary>
    internal const string NotTheWriter = "们|的?(妈|爸|爷|奶|外公|外婆|姥|哥|姐|弟|妹|儿子|女儿|孩子|老公|老婆|丈夫|妻子|先生|太太|男朋友|女朋友|男友|女友|对象|闺蜜|朋友|同学|室友|舍友|同事|学生|来访者|病人|患者|家|父|母|亲戚|表|堂|舅|姨|叔|姑|邻居|老师|班主任|老板|上司|领导|网友)";

    [GeneratedRegex(@"\b(i|im|ive|id|ill|me|myself)\b|我(?!" + NotTheWriter + ")", Options)]
    private static partial Regex Self();

    [GeneratedRegex(@"\b(he|she|hes|shes|him|his|her|they|them|their|someone|somebody|people|client|patient|student|friend|son|daughter|brother|sister|husband|wife|partner|boyfriend|girlfriend|mom|mum|dad|mother|father|kid|child|classmate|coworker|celebrity)s?\b|他|她|朋友|同学|学生|来访者|咨询者|患者|病人|孩子|家人|别人|某人|新闻|报道|明星|网友", Options)]
    private static partial Regex ThirdPerson();

    [GeneratedRegex(@"^(what|how|why|when|where|which|who|is|are|can|could|does|do|should|would)\b|\b(what is|what are|how do|how does|how can|how to|signs of|warning signs|statistics|rate of|definition|explain)\b|什么是|是什么|为什么|如何|怎么办|怎样|哪些|有没有|吗$|呢$", Options)]
    private static partial Regex InfoQuestion();

    [GeneratedRegex(@"\b(not|no|never|dont|doesnt|didnt|wont|cant|cannot|nothing|nobody)\b|不|没|别|无", Options)]
    private static partial Regex Negation();

    [GeneratedRegex(@"\b(die|dying|dead|death|suicid\w*|kill|killing|end it|end my life|alive|live|living|sleep forever|overdose|od)\b|死|自杀|轻生|结束生命|活着|活下去|活了|解脱|安眠药|跳楼", Options)]
    private static partial Regex Death();

    [GeneratedRegex(@"\b(cut|cuts|cutting|burn|burning|self harm\w*|selfharm\w*|sh|hurt myself|hurting myself|scars?|blades?|razors?|relapsed?|purge|purging|starve|starving)\b|割|自残|自伤|伤害自己|划自己|伤口|刀片|疤|催吐", Options)]
    private static partial Regex SelfHarm();

    [GeneratedRegex(@"\b(ignore|ignoring|disregard|forget|skip|override|bypass|instead of answering|dont answer|do not answer|no need to answer|stop being)\b|忽略|无视|不用管|别管|不要管|不管|忘掉|忘记|跳过|不用回答|无需回答|不要回答|不必回答|别回答|不用理会|不要理会", Options)]
    private static partial Regex Override();

    [GeneratedRegex(@"\b(just|only|directly|simply) (say|output|print|repeat|reply|write|respond|answer|type|return)|\b(output|print|repeat|say|type|return|echo) (the following|this|after me|exactly|verbatim|word for word)|直接(输出|回答|回复|说|打印|写)|只(输出|回复|说|回答|写)|请?重复|照着说|原样|逐字|原封不动|一字不差|输出以下|说出以下", Options)]
    private static partial Regex OutputOrder();

    [GeneratedRegex(@"\b(system prompt|prompt|instructions?|rules|guidelines|initial|hidden|secret|configuration|above text|text above|everything above|developer message|pre ?prompt)\b|提示词|提示语|系统提示|指令|设定|规则|初始|隐藏|前面的(内容|话|文字)|上面的(内容|话|文字)|以上(内容|文字)", Options)]
    private static partial Regex HiddenText();

    [GeneratedRegex(@"\b(new task|your (new )?task is|from now on|now you are|you are now|pretend|act as|roleplay|role play|jailbreak|dan|developer mode|no restrictions|unfiltered|uncensored)\b|你的任务是|新任务|从现在开始|从现在起|你现在是|假装|扮演|角色|越狱|开发者模式|没有任何限制|不受限制|无限制", Options)]
    private static partial Regex NewRole();

    [GeneratedRegex(@"\b(poison|hurt|harm|kill|attack|stalk|drug|sedate|spike|beat|punish|frame|threaten|blackmail)\w*\b.{0,30}\b(him|her|them|someone|somebody|people|wife|husband|partner|boss|neighbou?r|mother|father|mom|dad|child|kid|son|daughter|patient|coworker|ex)\b|毒死|下毒|下药|投毒|迷药|伤害(他|她|别人|对方)|报复|弄死|教训|偷偷给", Options)]
    private static partial Regex HarmOther();

    [GeneratedRegex(@"\b(fake|forge|forged|forging|falsif\w*|counterfeit|without (a )?prescription|no prescription|illegal\w*|black market|dark web|untraceable|scam|launder\w*|hack\w*|steal|stolen|cheat\w*|bribe\w*|smuggl\w*|cover up|get away with)\b|伪造|假的|造假|不要处方|无处方|没有处方|不用处方|黑市|暗网|诈骗|骗|洗钱|偷|黑进|盗|作弊|代开|买通|贿赂|走私|掩盖|瞒", Options)]
    private static partial Regex Illicit();

    /// <summary>
    /// Asking how to stay safe, to protect someone, to report, or what the law says: the intent that parts a question
    /// about a harm from a request to commit it, whatever the harm is.
    /// </summary>
    [GeneratedRegex(@"\b(prevent\w*|protect\w*|recogni[sz]e|spot|detect|report\w*|defend|victims?|warning signs|stay safe|keep (\w+ )?safe|is it (a crime|illegal|legal|against the law)|illegal to|legal consequences|penalt\w*|sentenced?|punishable|what should i do|what can i do|how do i stop|how can i stop|police)\b"
        + @"|防范|防止|预防|防骗|防盗|识别|辨别|分辨|举报|报警|保护|维权|自保|受害|被骗|被盗|被偷|被抢|被跟踪|被威胁|被勒索|被打|违法吗|犯法吗|犯罪吗|合法吗|判几年|判多久|怎么判|会判|法律后果|承担什么|如何应对|怎么应对|怎么保护|提防|警惕|远离", Options)]
    private static partial Regex Protective();

    [GeneratedRegex(@"\b(novel|story|fiction|character|screenplay|plot|research|study|paper|thesis|history|historical|documentary)\b|小说|故事|剧本|情节|人物|研究|论文|历史|纪录片", Options)]
    private static partial Regex FictionOrResearch();
}
