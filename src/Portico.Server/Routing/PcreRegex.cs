using System.Text;
using System.Text.RegularExpressions;

namespace Portico.Server.Routing;

/// <summary>
/// A PCRE pattern from an nginx config, run by .NET's engine with PCRE's capture numbering.
/// PCRE numbers every capturing group by its opening parenthesis, named or not; .NET numbers
/// named groups after all unnamed ones, so <c>^/(?&lt;a&gt;x)/(\d+)</c> would swap <c>$1</c> and
/// <c>$2</c>. Each capturing group is therefore rewritten to an explicit number, and the names
/// are kept beside the regex.
/// </summary>
internal sealed class PcreRegex
{
    // Location and server_name regexes run on every request: a timeout bounds a pathological
    // pattern (catastrophic backtracking) to a 500 instead of a stuck worker.
    private static readonly TimeSpan s_matchTimeout = TimeSpan.FromSeconds(1);

    private PcreRegex(Regex regex, string?[] groupNames, LiteralPattern? literal)
    {
        Regex = regex;
        GroupNames = groupNames;
        Literal = literal;
    }

    /// <summary>Set when the pattern is plain literal text (no groups): match with it, not the regex.</summary>
    public LiteralPattern? Literal { get; }

    public Regex Regex { get; }

    /// <summary>Name of each capturing group by PCRE number (index 0 is the whole match); null when unnamed.</summary>
    public string?[] GroupNames { get; }

    public static PcreRegex Create(string pattern, bool ignoreCase)
    {
        var options = RegexOptions.CultureInvariant;
        if (ignoreCase)
        {
            options |= RegexOptions.IgnoreCase;
        }

        var translated = Translate(pattern, out var names);
        return new PcreRegex(new Regex(translated, options, s_matchTimeout), names, names.Length == 1 ? LiteralPattern.TryCreate(pattern, ignoreCase) : null);
    }

    public Match Match(string input) => Regex.Match(input);

    private static string Translate(string pattern, out string?[] names)
    {
        var result = new StringBuilder(pattern.Length + 16);
        var list = new List<string?> { null };
        var inClass = false;
        for (var i = 0; i < pattern.Length; i++)
        {
            var c = pattern[i];
            if (c == '\\' && i + 1 < pattern.Length)
            {
                result.Append(c).Append(pattern[++i]);
                continue;
            }

            if (inClass)
            {
                inClass = c != ']';
                result.Append(c);
                continue;
            }

            if (c == '[')
            {
                inClass = true;
                result.Append(c);
                if (i + 1 < pattern.Length && pattern[i + 1] == ']')
                {
                    // "[]...]": a leading ']' is literal.
                    result.Append(']');
                    i++;
                }

                continue;
            }

            if (c != '(')
            {
                result.Append(c);
                continue;
            }

            string? name = null;
            var rest = pattern.AsSpan(i + 1);
            var skip = 0;
            if (rest.StartsWith("?P<"))
            {
                skip = 3;
            }
            else if (rest.StartsWith("?<") && rest.Length > 2 && rest[2] is not ('=' or '!'))
            {
                skip = 2;
            }
            else if (rest.StartsWith("?'"))
            {
                skip = 2;
            }
            else if (rest.StartsWith("?"))
            {
                // Non-capturing group, lookaround, inline option...
                result.Append(c);
                continue;
            }

            if (skip > 0)
            {
                var close = pattern.IndexOfAny(['>', '\''], i + 1 + skip);
                name = pattern[(i + 1 + skip)..close];
                i = close;
            }

            list.Add(name);
            result.Append("(?<").Append(list.Count - 1).Append('>');
        }

        names = [.. list];
        return result.ToString();
    }
}
