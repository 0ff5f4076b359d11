using System.Text;
using ChatPlatform.Core.IO;
using ChatPlatform.Safety.Text;

namespace ChatPlatform.Safety.Detection;

/// <summary>
/// Chinese words in classes of like meaning: each word of a Chinese–English dictionary is placed by the sentence
/// embedding of its English gloss, and words that land close together share a class (偷, 盗窃 and 窃取 with "steal";
/// 海洛因 and 冰毒 with the other drugs). A message is cut into the longest dictionary words, and the classes of its
/// words, alone and in pairs, are features of the n-gram table beside the characters. A request phrased with a word
/// no training line used then still shares features with the lines that used its neighbours, and "how to" followed
/// by a theft word is one feature whichever theft word it is.
/// <para>Only word hashes and class numbers are kept: no dictionary text.</para>
/// </summary>
public sealed class WordClasses
{
    public const int MaxWordLength = 4;
    private static readonly byte[] s_magic = "CPWORDS1"u8.ToArray();

    private readonly Dictionary<ulong, ushort> _classOf;
    private readonly Dictionary<char, char> _simplified;

    internal WordClasses(string name, int count, Dictionary<ulong, ushort> classOf, Dictionary<char, char> simplified)
    {
        if (count is <= 0 or > ushort.MaxValue) throw new ArgumentOutOfRangeException(nameof(count), count, "between 1 and 65535 classes");
        (Name, Count, _classOf, _simplified) = (name, count, classOf, simplified);
    }

    /// <summary>What the classes were built from, e.g. "CC-CEDICT 2019-05-27 (94,698 words, 256 classes)"; stored with the weights.</summary>
    public string Name { get; }

    /// <summary>The number of classes.</summary>
    public int Count { get; }

    public int Words => _classOf.Count;

    /// <summary>The dictionary words of <paramref name="text"/>'s Chinese runs, longest first from the left; other characters are skipped.</summary>
    public List<string> Segment(string text)
    {
        var simplified = Simplify(text);
        return [.. Walk(simplified).Select(w => simplified.Substring(w.Start, w.Length))];
    }

    /// <summary>The class of each dictionary word of <paramref name="text"/>, in order (the words of <see cref="Segment"/>).</summary>
    public List<int> Classes(string text) => [.. Walk(Simplify(text)).Select(w => (int)w.Class)];

    /// <summary>The class of one word; null when the dictionary does not have it.</summary>
    public int? ClassOf(string word) => _classOf.TryGetValue(Hash(Simplify(word)), out var c) ? c : null;

    /// <summary>Longest dictionary match from the left over the Chinese runs: each word's place and class, looked up once.</summary>
    private List<(int Start, int Length, ushort Class)> Walk(string simplified)
    {
        var words = new List<(int, int, ushort)>();
        for (var i = 0; i < simplified.Length;)
        {
            var taken = 1;
            if (TextNormalizer.IsCjk(simplified[i]))
                for (var n = Math.Min(MaxWordLength, simplified.Length - i); n >= 1; n--)
                {
                    var candidate = simplified.AsSpan(i, n);
                    if (!AllCjk(candidate) || !_classOf.TryGetValue(Hash(candidate), out var c)) continue;
                    words.Add((i, n, c));
                    taken = n;
                    break;
                }
            i += taken;
        }
        return words;
    }

    /// <summary>Traditional characters to simplified; text that needs no change is returned as it is.</summary>
    private string Simplify(string text)
    {
        var first = 0;
        while (first < text.Length && !_simplified.ContainsKey(text[first])) first++;
        if (first == text.Length) return text;
        var chars = text.ToCharArray();
        for (var k = first; k < chars.Length; k++)
            if (_simplified.TryGetValue(chars[k], out var s)) chars[k] = s;
        return new string(chars);
    }

    private static bool AllCjk(ReadOnlySpan<char> s)
    {
        foreach (var c in s)
            if (!TextNormalizer.IsCjk(c)) return false;
        return true;
    }

    internal static ulong Hash(ReadOnlySpan<char> s)
    {
        // FNV-1a, 64 bits: stable across runs, and collisions among 100,000 words are unlikely.
        var h = 14695981039346656037ul;
        foreach (var c in s)
        {
            h = (h ^ (byte)c) * 1099511628211ul;
            h = (h ^ (byte)(c >> 8)) * 1099511628211ul;
        }
        return h;
    }

    internal void Write(BinaryWriter writer)
    {
        writer.Write(s_magic);
        writer.Write(Name);
        writer.Write(Count);
        writer.Write(_simplified.Count);
        foreach (var (from, to) in _simplified.OrderBy(p => p.Key))
        {
            writer.Write((ushort)from);
            writer.Write((ushort)to);
        }
        writer.Write(_classOf.Count);
        foreach (var (hash, c) in _classOf.OrderBy(p => p.Key))
        {
            writer.Write(hash);
            writer.Write(c);
        }
    }

    internal static WordClasses Read(BinaryReader reader)
    {
        if (!reader.ReadBytes(s_magic.Length).AsSpan().SequenceEqual(s_magic)) throw new FormatException("no word classes where they were announced (CPWORDS1)");
        var name = reader.ReadString();
        var count = reader.ReadInt32();
        if (count is <= 0 or > ushort.MaxValue) throw new FormatException($"word classes claim {count} classes");
        var pairs = reader.ReadInt32();
        if (pairs is < 0 or > 65536) throw new FormatException($"word classes claim {pairs} character simplifications");
        var simplified = new Dictionary<char, char>(pairs);
        for (var i = 0; i < pairs; i++) simplified[(char)reader.ReadUInt16()] = (char)reader.ReadUInt16();
        var words = reader.ReadInt32();
        if (words is < 0 or > 1 << 22) throw new FormatException($"word classes claim {words} words");
        var classOf = new Dictionary<ulong, ushort>(words);
        for (var i = 0; i < words; i++)
        {
            var hash = reader.ReadUInt64();
            var c = reader.ReadUInt16();
            if (c >= count) throw new FormatException($"a word of class {c}, of {count} classes");
            classOf[hash] = c;
        }
        return new WordClasses(name, count, classOf, simplified);
    }

    /// <summary>Reads a file that <c>chatplatform safety word-classes</c> wrote.</summary>
    public static WordClasses Load(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            using var reader = new BinaryReader(stream, Encoding.UTF8);
            var classes = Read(reader);
            if (stream.Position != stream.Length) throw new FormatException("trailing bytes after the word classes");
            return classes;
        }
        catch (EndOfStreamException e)
        {
            throw new FormatException($"{path}: the word-classes file is truncated", e);
        }
        catch (FormatException e)
        {
            throw new FormatException($"{path}: {e.Message}", e);
        }
    }

    public void Save(string path)
    {
        AtomicFile.Write(path, stream =>
        {
            using var writer = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
            Write(writer);
        });
    }
}
