namespace ChatPlatform.Knowledge.Search;

/// <summary>Words that say nothing about what a question is about; left out of questions, kept in passages.</summary>
internal static class StopWords
{
    public static readonly HashSet<string> English = new(StringComparer.Ordinal)
    {
        "a", "an", "the", "and", "or", "but", "if", "of", "to", "in", "on", "at", "by", "for", "with", "about", "from", "into",
        "as", "is", "are", "was", "were", "be", "been", "being", "am", "do", "does", "did", "doing", "have", "has", "had",
        "i", "me", "my", "we", "our", "you", "your", "he", "she", "it", "its", "they", "them", "their", "this", "that",
        "these", "those", "there", "here", "what", "which", "who", "whom", "whose", "when", "where", "why", "how",
        "can", "could", "should", "would", "will", "shall", "may", "might", "must", "need", "want", "please", "tell",
        "any", "some", "all", "so", "than", "then", "too", "very", "just", "also", "not", "no", "yes", "up", "out",
        "get", "got", "know", "let", "s", "t", "ok", "hi", "hello", "thanks", "thank", "much", "many", "one",
    };

    public static readonly HashSet<string> Chinese = new(StringComparer.Ordinal)
    {
        "的", "了", "吗", "呢", "吧", "啊", "呀", "嘛", "么", "着", "过", "是", "在", "和", "与", "及", "或", "也", "都", "就",
        "我", "你", "您", "他", "她", "它", "我们", "你们", "他们", "这", "那", "这个", "那个", "这些", "那些", "哪", "哪些",
        "什么", "怎么", "怎样", "怎么样", "如何", "为什么", "多少", "几", "请问", "请", "一下", "一个", "有", "没有",
        "可以", "能", "能不能", "可不可以", "会", "要", "需要", "想", "应该", "得", "地", "把", "被", "对", "给", "从", "到",
        "还", "又", "很", "太", "更", "最", "里", "上", "下", "中", "时候", "自己", "知道", "告诉", "问", "做", "去", "来", "让",
        "怎么办", "咋办", "就是", "还是", "但是", "因为", "所以", "如果", "的话", "然后", "现在", "已经", "一些", "有没有", "是不是", "吗？",
    };
}
