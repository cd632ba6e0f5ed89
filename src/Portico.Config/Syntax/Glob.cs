namespace Portico.Config.Syntax;

/// <summary>
/// The subset of glob(3) nginx's <c>include</c> relies on: <c>*</c>, <c>?</c> and <c>[...]</c>
/// (with <c>!</c>/<c>^</c> negation and ranges) in any path segment; results sorted as glob() sorts
/// them; names starting with a dot only match a pattern that starts with a dot (no GLOB_PERIOD).
/// </summary>
internal static class Glob
{
    public static bool HasWildcards(string pattern) => pattern.AsSpan().IndexOfAny("*?[") >= 0;

    /// <summary>Expands an absolute pattern into existing files, sorted ordinally.</summary>
    public static List<string> Expand(string pattern)
    {
        var results = new List<string>();
        string[] segments = pattern.Split('/');
        Walk(segments.Length > 0 && segments[0].Length == 0 ? "/" : "", segments, segments[0].Length == 0 ? 1 : 0, results);
        results.Sort(StringComparer.Ordinal);
        return results;
    }

    private static void Walk(string dir, string[] segments, int index, List<string> results)
    {
        if (index == segments.Length)
        {
            if (File.Exists(dir))
            {
                results.Add(dir);
            }

            return;
        }

        string segment = segments[index];
        bool last = index == segments.Length - 1;
        if (segment.Length == 0)
        {
            Walk(dir, segments, index + 1, results);
            return;
        }

        if (!HasWildcards(segment))
        {
            Walk(Path.Join(dir, segment), segments, index + 1, results);
            return;
        }

        if (!Directory.Exists(dir.Length == 0 ? "." : dir))
        {
            return;
        }

        IEnumerable<string> entries = last
            ? Directory.EnumerateFiles(dir.Length == 0 ? "." : dir)
            : Directory.EnumerateDirectories(dir.Length == 0 ? "." : dir);
        foreach (string entry in entries)
        {
            string name = Path.GetFileName(entry);
            if (name.StartsWith('.') && !segment.StartsWith('.'))
            {
                continue;
            }

            if (Matches(segment, name))
            {
                Walk(Path.Join(dir, name), segments, index + 1, results);
            }
        }
    }

    /// <summary>fnmatch(3) without flags for one path segment.</summary>
    public static bool Matches(ReadOnlySpan<char> pattern, ReadOnlySpan<char> name)
    {
        int p = 0, n = 0, starP = -1, starN = 0;
        while (n < name.Length)
        {
            if (p < pattern.Length)
            {
                char pc = pattern[p];
                if (pc == '*')
                {
                    starP = p++;
                    starN = n;
                    continue;
                }

                if (pc == '?')
                {
                    p++;
                    n++;
                    continue;
                }

                if (pc == '[' && TryMatchClass(pattern, p, name[n], out int next, out bool hit))
                {
                    if (hit)
                    {
                        p = next;
                        n++;
                        continue;
                    }
                }
                else if (pc == name[n])
                {
                    p++;
                    n++;
                    continue;
                }
            }

            if (starP < 0)
            {
                return false;
            }

            p = starP + 1;
            n = ++starN;
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }

    private static bool TryMatchClass(ReadOnlySpan<char> pattern, int open, char ch, out int next, out bool hit)
    {
        int i = open + 1;
        bool negate = i < pattern.Length && (pattern[i] == '!' || pattern[i] == '^');
        if (negate)
        {
            i++;
        }

        bool matched = false;
        bool first = true;
        while (i < pattern.Length && (pattern[i] != ']' || first))
        {
            first = false;
            char lo = pattern[i];
            if (i + 2 < pattern.Length && pattern[i + 1] == '-' && pattern[i + 2] != ']')
            {
                matched |= ch >= lo && ch <= pattern[i + 2];
                i += 3;
            }
            else
            {
                matched |= ch == lo;
                i++;
            }
        }

        if (i >= pattern.Length)
        {
            // No closing bracket: "[" is an ordinary character.
            next = open;
            hit = false;
            return false;
        }

        next = i + 1;
        hit = matched != negate;
        return true;
    }
}
