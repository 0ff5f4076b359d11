using System.Security.Cryptography;
using System.Text;
using ChatPlatform.Knowledge.Ingestion;

namespace ChatPlatform.Knowledge;

internal sealed record CuratedRow(string Key, string Question, string Answer, string? Locale, int Line);

/// <summary>Reads curated answers from CSV (RFC 4180: commas, double quotes, line breaks inside quotes).</summary>
internal static class CuratedCsv
{
    public static string KeyFor(string question)
    {
        var normalized = string.Concat(question.Where(c => !char.IsWhiteSpace(c) && !char.IsPunctuation(c))).ToLowerInvariant();
        return "q-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(normalized)))[..12];
    }

    public static List<CuratedRow> Parse(string name, string text)
    {
        var records = Records(name, text.TrimStart('\uFEFF'));
        if (records.Count == 0) throw new KnowledgeImportException($"{name}: the file is empty; expected a header row with question and answer columns");
        var header = records[0].Fields.Select(h => h.Trim().ToLowerInvariant()).ToList();
        int Column(string n) => header.IndexOf(n);
        int question = Column("question"), answer = Column("answer"), id = Column("id"), locale = Column("locale");
        if (question < 0 || answer < 0)
            throw new KnowledgeImportException($"{name}:1: the header must name 'question' and 'answer' columns (optional: id, locale); got '{string.Join(",", records[0].Fields)}'");

        var rows = new List<CuratedRow>();
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (fields, line) in records.Skip(1))
        {
            if (fields.All(string.IsNullOrWhiteSpace)) continue;
            string Field(int i) => i >= 0 && i < fields.Count ? fields[i].Trim() : "";
            var q = Field(question);
            var a = Field(answer);
            if (q.Length == 0) throw new KnowledgeImportException($"{name}:{line}: the question is empty");
            if (a.Length == 0) throw new KnowledgeImportException($"{name}:{line}: the answer is empty");
            if (q.Length > 2000) throw new KnowledgeImportException($"{name}:{line}: the question is longer than 2000 characters");
            var key = Field(id) is { Length: > 0 } given ? given : KeyFor(q);
            if (key.Length > 200) throw new KnowledgeImportException($"{name}:{line}: the id is longer than 200 characters");
            if (!keys.Add(key)) throw new KnowledgeImportException($"{name}:{line}: the id '{key}' appears twice");
            var loc = Field(locale);
            rows.Add(new CuratedRow(key, q, a, loc.Length > 0 ? loc : null, line));
        }
        return rows;
    }

    private static List<(List<string> Fields, int Line)> Records(string name, string text)
    {
        var records = new List<(List<string>, int)>();
        var fields = new List<string>();
        var field = new StringBuilder();
        var inQuotes = false;
        var line = 1;
        var recordLine = 1;
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (inQuotes)
            {
                if (c == '"' && i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i++; }
                else if (c == '"') inQuotes = false;
                else { if (c == '\n') line++; field.Append(c); }
                continue;
            }
            switch (c)
            {
                case '"' when field.Length == 0:
                    inQuotes = true;
                    break;
                case ',':
                    fields.Add(field.ToString());
                    field.Clear();
                    break;
                case '\r':
                    break;
                case '\n':
                    fields.Add(field.ToString());
                    field.Clear();
                    records.Add((fields, recordLine));
                    fields = [];
                    line++;
                    recordLine = line;
                    break;
                default:
                    field.Append(c);
                    break;
            }
        }
        if (inQuotes) throw new KnowledgeImportException($"{name}:{recordLine}: a quoted field is not closed");
        if (field.Length > 0 || fields.Count > 0)
        {
            fields.Add(field.ToString());
            records.Add((fields, recordLine));
        }
        return records;
    }
}
