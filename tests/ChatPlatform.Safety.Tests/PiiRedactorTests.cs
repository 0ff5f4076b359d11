using ChatPlatform.Safety.Pii;
using Xunit;

namespace ChatPlatform.Safety.Tests;

public sealed class PiiRedactorTests
{
    [Theory]
    [InlineData("mail me at taylor.lee30@example.org please", "EMAIL")]
    [InlineData("我手机号 187-2279-2240", "PHONE")]
    [InlineData("call +86 138 0013 8000", "PHONE")]
    [InlineData("office 010-62751234", "PHONE")]
    [InlineData("my number is (415) 555-0111", "PHONE")]
    [InlineData("ring me on +44 20 7946 0958", "PHONE")]
    [InlineData("身份证44030519880326471X", "ID")]
    [InlineData("card 4023 5191 7113 0127 exp 08/27", "CARD")]
    [InlineData("护照号码 E12345678", "PASSPORT")]
    [InlineData("my SSN is 981-42-3767", "SSN")]
    [InlineData("I live at 900 Sample Road, Lakeside", "ADDRESS")]
    [InlineData("我住在上海市浦东新区测试街12弄7号", "ADDRESS")]
    [InlineData("我叫张娜伟，电话", "NAME")]
    [InlineData("研招网密码是 abc12345，你帮我查查", "SECRET")]
    [InlineData("my password is hunter42 if you need it", "SECRET")]
    [InlineData("the bank's verification code: 804311", "SECRET")]
    [InlineData("我的准考证号是 210005123456789", "ID")]
    [InlineData("学号2021110345，帮我看看选课", "ID")]
    [InlineData("My student number is 2023118745, can you check my timetable?", "ID")]
    [InlineData("病历号：ZY0034521，这个检查结果正常吗", "ID")]
    public void Redact_PersonalData_ReplacesItWithItsKind(string text, string kind)
    {
        var redacted = PiiRedactor.Instance.Redact(text);

        Assert.Contains($"[{kind}]", redacted, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("The lecture is in room 5.14 at 10:30 on Monday.")]
    [InlineData("我这次模考考了612分，离目标还差20分。")]
    [InlineData("订单号DD20240616A还没发货，怎么办？")]
    [InlineData("My blood pressure was 128/82 this morning, is that normal?")]
    [InlineData("The GRE costs 220 USD and the TOEFL about 250 USD, right?")]
    [InlineData("4023 5191 7113 0128")]
    [InlineData("440305198803264710")]
    [InlineData("I forgot my password, how do I reset it?")]
    [InlineData("密码总是输错，账号被锁了怎么办")]
    [InlineData("The PIN is wrong again and the card was swallowed.")]
    [InlineData("学号和准考证号有什么区别？")]
    public void Contains_NumbersThatAreNotPersonalData_IsFalse(string text) =>
        Assert.False(PiiRedactor.Instance.Contains(text), text);

    [Theory]
    [InlineData("44030519880326471X", true)]
    [InlineData("44030519880326471x", true)]
    [InlineData("440305198803264710", false)]
    [InlineData("440305198813264711", false)]
    public void IsValidResidentId_CheckDigit_IsVerified(string id, bool valid) =>
        Assert.Equal(valid, PiiRedactor.IsValidResidentId(id));

    [Theory]
    [InlineData("4539 1488 0343 6467", true)]
    [InlineData("4539 1488 0343 6468", false)]
    [InlineData("0000 0000 0000 0000", false)]
    public void Luhn_CardNumber_IsVerified(string number, bool valid) =>
        Assert.Equal(valid, PiiRedactor.Luhn(number));

    [Fact]
    public void Redact_CredentialAndRegisterNumber_KeepsTheWordsAndHidesOnlyTheValues()
    {
        var redacted = PiiRedactor.Instance.Redact("我的准考证号是 210005123456789，研招网密码是 abc12345，你帮我查查成绩。");

        Assert.Equal("我的准考证号是 [ID]，研招网密码是 [SECRET]，你帮我查查成绩。", redacted);
    }
}
