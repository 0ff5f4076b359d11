using System.Text;
using System.Text.RegularExpressions;
using ChatPlatform.Core.Privacy;

namespace ChatPlatform.Safety.Pii;

/// <summary>One piece of personal data found in a text.</summary>
public readonly record struct PiiMatch(string Kind, int Index, int Length);

/// <summary>
/// Finds and replaces personal data: e-mail addresses, phone numbers (mainland mobile and landline, North American,
/// international), PRC resident identity numbers (check digit verified), bank cards (Luhn verified), passport
/// numbers, US social security numbers, street addresses and self-introduced names. Placeholders name the kind,
/// e.g. <c>[EMAIL]</c>, so the model still knows something was there.
/// </summary>
public sealed partial class PiiRedactor : ITextRedactor
{
    public static readonly PiiRedactor Instance = new();

    private const string Surnames = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤欧";

    [GeneratedRegex(@"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}", RegexOptions.CultureInvariant)]
    private static partial Regex Email();

    [GeneratedRegex(@"(?<![\dA-Za-z])\d{6}[ ]?(?:18|19|20)\d{2}[ ]?\d{4}[ ]?\d{3}[\dXx](?![\dA-Za-z])", RegexOptions.CultureInvariant)]
    private static partial Regex ResidentId();

    [GeneratedRegex(@"(?<![\d\-])\d(?:[ \-]?\d){12,18}(?![\d\-])", RegexOptions.CultureInvariant)]
    private static partial Regex CardCandidate();

    [GeneratedRegex(@"(?:银行卡|卡号|储蓄卡|信用卡|(?i:card|account)(?:\s+(?:number|no\.?))?)\s*(?:号码?|是|为|is|:|：|#)?\s*(\d(?:[ \-]?\d){12,18})(?![\d\-])", RegexOptions.CultureInvariant)]
    private static partial Regex CardWithContext();

    [GeneratedRegex(@"(?<![\d\-])(?:(?:\+|00)86[ \-]?)?1[3-9]\d(?:[ \-]?\d{4}){2}(?![\d\-])", RegexOptions.CultureInvariant)]
    private static partial Regex CnMobile();

    [GeneratedRegex(@"(?<![\d\-])(?:\(0\d{2,3}\)|0\d{2,3})[ \-]\d{7,8}(?![\d\-])", RegexOptions.CultureInvariant)]
    private static partial Regex CnLandline();

    [GeneratedRegex(@"(?<![\d\w])(?:\+\d{1,3}[ \-.]?)?(?:\(\d{3}\)[ \-.]?|\d{3}[\-.])\d{3}[ \-.]\d{4}(?![\d\-])|(?<![\d\w])\+\d{1,3}(?:[ \-.]?\(?\d{1,4}\)?){2,5}(?![\d\-])", RegexOptions.CultureInvariant)]
    private static partial Regex InternationalPhone();

    [GeneratedRegex(@"(?<![\d\-])\d{3}-\d{2}-\d{4}(?![\d\-])", RegexOptions.CultureInvariant)]
    private static partial Regex Ssn();

    [GeneratedRegex(@"(?<![A-Za-z0-9])(?:[EeGgDdSsPp][A-Za-z]?\d{7,8})(?![A-Za-z0-9])|(?i:passport|护照)(?:\s*(?:no\.?|number|号码?|#))?\s*(?:is|是|[:：])?\s*(?-i:[A-Z0-9]{6,9})(?![A-Za-z0-9])", RegexOptions.CultureInvariant)]
    private static partial Regex Passport();

    [GeneratedRegex(@"\b\d{1,5}\s+(?:[A-Z][a-z]+\s+){1,3}(?:Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Drive|Dr|Boulevard|Blvd|Court|Ct|Way|Place|Pl|Terrace|Close)\b\.?", RegexOptions.CultureInvariant)]
    private static partial Regex EnAddress();

    [GeneratedRegex(@"[\u4e00-\u9fff]{2,}(?:省|市|区|县|镇|州)[\u4e00-\u9fff\d]{0,16}?(?:路|街|道|巷|弄|村|胡同)[\u4e00-\u9fff\d]{0,10}?\d+\s*(?:号|弄|栋|室|楼)(?:\d+\s*(?:号|室|楼|栋))*", RegexOptions.CultureInvariant)]
    private static partial Regex ZhAddress();

    [GeneratedRegex(@"(?:\b(?:[Mm]y name is|I'm|I am|[Tt]his is|[Nn]ame:)\s+)([A-Z][a-z]+(?:\s+[A-Z][a-z]+)+)", RegexOptions.CultureInvariant)]
    private static partial Regex EnName();

    [GeneratedRegex(@"(?:我叫|我的名字是|名叫|姓名[:：]?\s*|患者|病人|我是|联系人[:：]?\s*)([" + Surnames + @"][\u4e00-\u9fff]{1,2})(?=[，。,.\s、；;！!？?]|$|[，]|电话|手机|身份证|想|要|的|在|住)", RegexOptions.CultureInvariant)]
    private static partial Regex ZhName();

    /// <summary>
    /// A credential named as one (a password, PIN or verification code, then its value): only the value, and only
    /// when it holds a digit, so "my password is wrong" stays as it is.
    /// </summary>
    [GeneratedRegex(@"(?:(?i:\b(?:password|passcode|passwd|pwd|pin(?: code)?|verification code|one[- ]time code)\b)(?:\s+(?:is|was))?|密码|口令|验证码|动态码|支付码)\s*(?:是|为|[:：=])?\s*((?=[^\s，。,;；、]*\d)[^\s，。,;；、\u4e00-\u9fff]{4,64})", RegexOptions.CultureInvariant)]
    private static partial Regex Credential();

    /// <summary>
    /// A number that identifies a person in a register, named as such (student, exam, staff, insurance or medical
    /// record number): only the number. Order and parcel numbers are not about a person and stay.
    /// </summary>
    [GeneratedRegex(@"(?:准考证号|考生编号|考生号|报名号|学号|工号|社保卡号|社保号|医保卡号|医保号|病历号|病案号|住院号|就诊卡号|门诊号|会员号|(?i:\b(?:student (?:id|number)|exam (?:ticket )?number|registration number|candidate number|employee (?:id|number)|staff (?:id|number)|medical record number|mrn|patient (?:id|number)|insurance (?:id|number)|policy number|member (?:id|number))\b))(?:码)?(?:\s+(?:is|was))?\s*(?:是|为|[:：#])?\s*((?=[A-Za-z\-]*\d)[A-Za-z0-9\-]{5,24})(?![A-Za-z0-9])", RegexOptions.CultureInvariant)]
    private static partial Regex RegisterNumber();

    public string Redact(string text)
    {
        var matches = Find(text);
        if (matches.Count == 0) return text;
        var sb = new StringBuilder(text.Length);
        var at = 0;
        foreach (var m in matches)
        {
            sb.Append(text, at, m.Index - at).Append('[').Append(m.Kind).Append(']');
            at = m.Index + m.Length;
        }
        return sb.Append(text, at, text.Length - at).ToString();
    }

    public bool Contains(string text) => Find(text).Count > 0;

    /// <summary>Non-overlapping matches in text order; earlier, more specific kinds win overlaps.</summary>
#pragma warning disable CA1822 // instance API: the redactor is used through ITextRedactor
    public IReadOnlyList<PiiMatch> Find(string text)
    {
        var found = new List<PiiMatch>();
        Add(found, Email(), text, "EMAIL");
        foreach (Match m in ResidentId().Matches(text))
            if (IsValidResidentId(m.Value)) AddMatch(found, new("ID", m.Index, m.Length));
        foreach (Match m in CardCandidate().Matches(text))
            if (Luhn(m.Value)) AddMatch(found, new("CARD", m.Index, m.Length));
        // Named as a card, a number is a card even when its check digit is off (a typo is still personal data).
        foreach (Match m in CardWithContext().Matches(text))
            AddMatch(found, new("CARD", m.Groups[1].Index, m.Groups[1].Length));
        Add(found, CnMobile(), text, "PHONE");
        Add(found, Ssn(), text, "SSN");
        Add(found, InternationalPhone(), text, "PHONE");
        Add(found, CnLandline(), text, "PHONE");
        Add(found, Passport(), text, "PASSPORT");
        foreach (Match m in RegisterNumber().Matches(text))
            AddMatch(found, new("ID", m.Groups[1].Index, m.Groups[1].Length));
        foreach (Match m in Credential().Matches(text))
            AddMatch(found, new("SECRET", m.Groups[1].Index, m.Groups[1].Length));
        Add(found, EnAddress(), text, "ADDRESS");
        Add(found, ZhAddress(), text, "ADDRESS");
        foreach (Match m in EnName().Matches(text))
            AddMatch(found, new("NAME", m.Groups[1].Index, m.Groups[1].Length));
        foreach (Match m in ZhName().Matches(text))
            AddMatch(found, new("NAME", m.Groups[1].Index, m.Groups[1].Length));
        found.Sort((a, b) => a.Index.CompareTo(b.Index));
        return found;
    }
#pragma warning restore CA1822

    private static void Add(List<PiiMatch> found, Regex regex, string text, string kind)
    {
        foreach (Match m in regex.Matches(text))
            AddMatch(found, new(kind, m.Index, m.Length));
    }

    private static void AddMatch(List<PiiMatch> found, PiiMatch match)
    {
        foreach (var f in found)
            if (match.Index < f.Index + f.Length && f.Index < match.Index + match.Length) return;
        found.Add(match);
    }

    /// <summary>GB 11643: 17 digits weighted, mod 11, mapped to the check character.</summary>
    public static bool IsValidResidentId(string value)
    {
        Span<char> digits = stackalloc char[18];
        var n = 0;
        foreach (var c in value)
        {
            if (c == ' ') continue;
            if (n == 18) return false;
            digits[n++] = char.ToUpperInvariant(c);
        }
        if (n != 18) return false;
        ReadOnlySpan<int> weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        var sum = 0;
        for (var i = 0; i < 17; i++)
        {
            if (!char.IsAsciiDigit(digits[i])) return false;
            sum += (digits[i] - '0') * weights[i];
        }
        var month = (digits[10] - '0') * 10 + (digits[11] - '0');
        var day = (digits[12] - '0') * 10 + (digits[13] - '0');
        if (month is < 1 or > 12 || day is < 1 or > 31) return false;
        const string checks = "10X98765432";
        return digits[17] == checks[sum % 11];
    }

    /// <summary>Luhn check over the digits of a 13–19 digit card number.</summary>
    public static bool Luhn(string value)
    {
        var digits = value.Where(char.IsAsciiDigit).Select(c => c - '0').ToArray();
        if (digits.Length is < 13 or > 19 || digits.All(d => d == digits[0])) return false;
        var sum = 0;
        for (var i = 0; i < digits.Length; i++)
        {
            var d = digits[digits.Length - 1 - i];
            if (i % 2 == 1)
            {
                d *= 2;
                if (d > 9) d -= 9;
            }
            sum += d;
        }
        return sum % 10 == 0;
    }
}
