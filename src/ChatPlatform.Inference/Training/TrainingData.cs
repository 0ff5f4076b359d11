using System.Text.Json;

namespace ChatPlatform.Inference.Training;

/// <summary>One message of a training conversation.</summary>
public sealed record TrainingMessage(string Role, string Content);

/// <summary>A conversation from the training file, with the line it came from.</summary>
public sealed record TrainingConversation(int Line, IReadOnlyList<TrainingMessage> Messages);

/// <summary>
/// Reads training conversations: JSON Lines, one <c>{"messages":[{"role":…,"content":…},…]}</c> per line (the format
/// curated answers and transcripts export to). Roles are <c>system</c>, <c>user</c> and <c>assistant</c>; every
/// conversation needs at least one assistant turn. Blank lines are skipped. Problems name the line.
/// </summary>
public static class TrainingData
{
    public const string System = "system";
    public const string User = "user";
    public const string Assistant = "assistant";

    /// <exception cref="AdapterTrainingException">The file is missing, or a line is not a usable conversation.</exception>
    public static IReadOnlyList<TrainingConversation> Read(string path)
    {
        if (!File.Exists(path)) throw new AdapterTrainingException($"{path}: file not found.");
        var conversations = new List<TrainingConversation>();
        var number = 0;
        try
        {
            foreach (var line in File.ReadLines(path))
            {
                number++;
                if (string.IsNullOrWhiteSpace(line)) continue;
                conversations.Add(new TrainingConversation(number, Parse(line, path, number)));
            }
        }
        catch (IOException e)
        {
            throw new AdapterTrainingException($"{path}: cannot be read ({e.Message}).");
        }

        if (conversations.Count == 0) throw new AdapterTrainingException($"{path}: has no conversations (expected one JSON object with \"messages\" per line).");
        return conversations;
    }

    private static List<TrainingMessage> Parse(string line, string path, int number)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(line);
        }
        catch (JsonException e)
        {
            throw new AdapterTrainingException($"{path} line {number}: not valid JSON ({e.Message.Split('.')[0]}).");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("messages", out var array) || array.ValueKind != JsonValueKind.Array)
                throw new AdapterTrainingException($"{path} line {number}: expected an object with a \"messages\" array.");

            var messages = new List<TrainingMessage>();
            var index = 0;
            foreach (var item in array.EnumerateArray())
            {
                index++;
                if (item.ValueKind != JsonValueKind.Object
                    || !item.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String
                    || !item.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.String)
                    throw new AdapterTrainingException($"{path} line {number}: message {index} needs string \"role\" and \"content\".");

                var name = role.GetString()!.Trim().ToLowerInvariant();
                if (name is not (System or User or Assistant))
                    throw new AdapterTrainingException($"{path} line {number}: message {index} has role '{role.GetString()}'; expected system, user or assistant.");
                if (name == Assistant && string.IsNullOrWhiteSpace(content.GetString()))
                    throw new AdapterTrainingException($"{path} line {number}: message {index} is an empty assistant reply.");
                messages.Add(new TrainingMessage(name, content.GetString()!));
            }

            if (!messages.Any(m => m.Role == Assistant))
                throw new AdapterTrainingException($"{path} line {number}: has no assistant turn to learn from.");
            return messages;
        }
    }
}

/// <summary>A training run that cannot go ahead or failed; the message is one line naming the file, line or setting.</summary>
public sealed class AdapterTrainingException(string message) : Exception(message);
