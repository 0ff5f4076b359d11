using System.Text.Json;

namespace ChatPlatform.Core.Personas;

/// <summary>
/// Reads a pack's evals/*.jsonl: one JSON object per line,
/// <c>{"id", "locale", "turns": [{"user": ...}], "expect": {"rail" | "contains_any" | "not_contains"}, "note"?}</c>.
/// </summary>
internal static class EvalReader
{
    private static readonly string[] CaseKeys = ["id", "locale", "turns", "expect", "note"];
    private static readonly string[] ExpectKeys = ["rail", "contains_any", "not_contains"];

    /// <param name="locales">The pack's locales, or null when unknown (locale checks are skipped).</param>
    /// <param name="rails">The rails the pack enables, or null when unknown (rail checks are skipped).</param>
    public static List<PackEval> Read(
        string evalsDirectory,
        Func<string, string> display,
        IReadOnlyList<string>? locales,
        IReadOnlyList<string>? rails,
        List<PackProblem> problems)
    {
        var evals = new List<PackEval>();
        if (!Directory.Exists(evalsDirectory)) return evals;

        var seen = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(evalsDirectory, "*.jsonl").Order(StringComparer.Ordinal))
        {
            // The knowledge evaluation set has its own format, read by `chatplatform knowledge eval`.
            if (string.Equals(Path.GetFileName(file), PackLoader.KnowledgeEvalFileName, StringComparison.Ordinal)) continue;
            var shown = display(file);
            string[] lines;
            try
            {
                lines = File.ReadAllLines(file);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                problems.Add(new PackProblem(shown, 0, "cannot read file: " + ex.Message));
                continue;
            }

            for (var i = 0; i < lines.Length; i++)
            {
                if (string.IsNullOrWhiteSpace(lines[i])) continue;
                var lineNumber = i + 1;
                var found = new List<string>();
                var eval = ReadCase(lines[i], found, locales, rails, file, lineNumber);
                if (eval is not null && seen.TryGetValue(eval.Id, out var first))
                {
                    found.Add($"duplicate eval id '{eval.Id}' (first at {first})");
                    eval = null;
                }
                problems.AddRange(found.Select(m => new PackProblem(shown, lineNumber, m)));
                if (eval is not null)
                {
                    seen[eval.Id] = $"{shown}:{lineNumber}";
                    evals.Add(eval);
                }
            }
        }
        return evals;
    }

    private static PackEval? ReadCase(
        string line, List<string> problems, IReadOnlyList<string>? locales, IReadOnlyList<string>? rails, string file, int lineNumber)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(line);
        }
        catch (JsonException ex)
        {
            // System.Text.Json appends "LineNumber: 0 | BytePositionInLine: n."; the line is already in the problem.
            var message = ex.Message;
            var at = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
            problems.Add($"invalid JSON: {(at > 0 ? message[..at] : message)} (at byte {ex.BytePositionInLine + 1})");
            return null;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                problems.Add("each line must be one JSON object");
                return null;
            }
            CheckKeys(root, CaseKeys, "", "", problems);

            var id = Text(root, "id", problems);
            var label = id is null ? "" : $"eval '{id}': ";
            var locale = Text(root, "locale", problems, label);
            if (locale is not null && locales is not null && !locales.Contains(locale, StringComparer.Ordinal))
                problems.Add($"{label}locale '{locale}' is not one of the pack's locales ({string.Join(", ", locales)})");
            string? note = null;
            if (root.TryGetProperty("note", out var noteElement))
            {
                if (noteElement.ValueKind == JsonValueKind.String) note = noteElement.GetString();
                else problems.Add($"{label}note must be text");
            }

            var turns = ReadTurns(root, label, problems);
            var expect = ReadExpect(root, label, rails, problems);

            return problems.Count == 0 && id is not null && locale is not null && turns is not null && expect is not null
                ? new PackEval(id, locale, turns, expect, note, file, lineNumber)
                : null;
        }
    }

    private static List<EvalTurn>? ReadTurns(JsonElement root, string label, List<string> problems)
    {
        if (!root.TryGetProperty("turns", out var element))
        {
            problems.Add($"{label}turns is required");
            return null;
        }
        if (element.ValueKind != JsonValueKind.Array || element.GetArrayLength() == 0)
        {
            problems.Add($"{label}turns must be a non-empty list of {{\"user\": ...}} or {{\"assistant\": ...}} objects");
            return null;
        }

        var turns = new List<EvalTurn>();
        var index = 0;
        foreach (var turn in element.EnumerateArray())
        {
            var props = turn.ValueKind == JsonValueKind.Object ? turn.EnumerateObject().ToList() : [];
            if (props.Count != 1
                || props[0].Name is not (EvalTurn.User or EvalTurn.Assistant)
                || props[0].Value.ValueKind != JsonValueKind.String
                || string.IsNullOrWhiteSpace(props[0].Value.GetString()))
            {
                problems.Add($"{label}turns[{index}] must be {{\"user\": \"text\"}} or {{\"assistant\": \"text\"}}");
                return null;
            }
            turns.Add(new EvalTurn(props[0].Name, props[0].Value.GetString()!));
            index++;
        }
        if (turns[^1].Role != EvalTurn.User)
        {
            problems.Add($"{label}the last turn must be a user turn (the expectation applies to the reply to it)");
            return null;
        }
        return turns;
    }

    private static EvalExpectation? ReadExpect(JsonElement root, string label, IReadOnlyList<string>? rails, List<string> problems)
    {
        if (!root.TryGetProperty("expect", out var element))
        {
            problems.Add($"{label}expect is required");
            return null;
        }
        if (element.ValueKind != JsonValueKind.Object)
        {
            problems.Add($"{label}expect must be an object with rail, contains_any and/or not_contains");
            return null;
        }
        var before = problems.Count;
        CheckKeys(element, ExpectKeys, label, "expect.", problems);

        string? rail = null;
        if (element.TryGetProperty("rail", out var railElement))
        {
            rail = railElement.ValueKind == JsonValueKind.String ? railElement.GetString() : null;
            if (rail is null)
                problems.Add($"{label}expect.rail must be text");
            else if (rail != EvalExpectation.NoRail && !SafetyRails.Known.Contains(rail))
                problems.Add($"{label}expect.rail: unknown rail '{rail}'; known: {EvalExpectation.NoRail}, {string.Join(", ", SafetyRails.Known.Order(StringComparer.Ordinal))}");
            else if (rail != EvalExpectation.NoRail && rails is not null && !rails.Contains(rail, StringComparer.Ordinal))
                problems.Add($"{label}expect.rail: the pack does not enable rail '{rail}' in safety.yaml");
        }
        var containsAny = Phrases(element, "contains_any", label, problems);
        var notContains = Phrases(element, "not_contains", label, problems);
        if (rail is null && containsAny is null && notContains is null && problems.Count == before)
            problems.Add($"{label}expect needs at least one of rail, contains_any, not_contains");

        return problems.Count == before
            ? new EvalExpectation { Rail = rail, ContainsAny = containsAny ?? [], NotContains = notContains ?? [] }
            : null;
    }

    private static List<string>? Phrases(JsonElement expect, string key, string label, List<string> problems)
    {
        if (!expect.TryGetProperty(key, out var element)) return null;
        if (element.ValueKind == JsonValueKind.Array && element.GetArrayLength() > 0
            && element.EnumerateArray().All(e => e.ValueKind == JsonValueKind.String && !string.IsNullOrWhiteSpace(e.GetString())))
            return [.. element.EnumerateArray().Select(e => e.GetString()!)];
        problems.Add($"{label}expect.{key} must be a non-empty list of non-empty strings");
        return null;
    }

    private static string? Text(JsonElement root, string key, List<string> problems, string label = "")
    {
        if (!root.TryGetProperty(key, out var element))
        {
            problems.Add($"{label}{key} is required");
            return null;
        }
        if (element.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(element.GetString()))
        {
            problems.Add($"{label}{key} must be non-empty text");
            return null;
        }
        return element.GetString();
    }

    private static void CheckKeys(JsonElement element, string[] known, string label, string prefix, List<string> problems)
    {
        foreach (var property in element.EnumerateObject())
            if (!known.Contains(property.Name, StringComparer.Ordinal))
                problems.Add($"{label}unknown key '{prefix}{property.Name}'; expected one of {string.Join(", ", known)}");
    }
}
