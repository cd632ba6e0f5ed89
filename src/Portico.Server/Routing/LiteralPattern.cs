namespace Portico.Server.Routing;

/// <summary>
/// A regex that is only ASCII literal text, optionally anchored (<c>\.php$</c>, <c>^/api/</c>, <c>~* \.jpg$</c>):
/// the common shape of nginx location regexes, run as a string comparison instead of the regex interpreter
/// (NativeAOT has no compiled regexes, and the interpreter was a visible share of a PHP request).
/// Same answers as PCRE: <c>$</c> also matches before a final newline (no PCRE_DOLLAR_ENDONLY), and the
/// whole match (<c>$0</c>) is the matched text.
/// </summary>
internal sealed class LiteralPattern
{
    private readonly string _text;
    private readonly bool _start;
    private readonly bool _end;
    private readonly StringComparison _comparison;

    private LiteralPattern(string text, bool start, bool end, bool ignoreCase)
    {
        _text = text;
        _start = start;
        _end = end;
        _comparison = ignoreCase ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
    }

    /// <summary>The literal form of <paramref name="pattern"/>, or null when it uses any regex feature.</summary>
    public static LiteralPattern? TryCreate(string pattern, bool ignoreCase)
    {
        var start = pattern.StartsWith('^');
        var body = start ? pattern[1..] : pattern;
        var end = false;
        var text = new System.Text.StringBuilder(body.Length);
        for (var i = 0; i < body.Length; i++)
        {
            var c = body[i];
            if (c >= 0x80)
            {
                return null; // case folding beyond ASCII differs between engines: leave it to the regex
            }

            if (c == '\\')
            {
                // An escaped punctuation character is itself; \d, \w, \b, \1... are regex features.
                if (i + 1 >= body.Length || char.IsAsciiLetterOrDigit(body[i + 1]) || body[i + 1] >= 0x80)
                {
                    return null;
                }

                text.Append(body[++i]);
                continue;
            }

            if (c == '$' && i == body.Length - 1)
            {
                end = true;
                continue;
            }

            if ("^$.[]|()?*+{}".Contains(c, StringComparison.Ordinal) || char.IsControl(c))
            {
                return null;
            }

            text.Append(c);
        }

        return text.Length == 0 ? null : new LiteralPattern(text.ToString(), start, end, ignoreCase);
    }

    /// <summary>The matched text ($0), or null when <paramref name="input"/> does not match.</summary>
    public string? Match(string input)
    {
        if (_start && _end)
        {
            return input.Equals(_text, _comparison) || (input.Length == _text.Length + 1 && input[^1] == '\n' && input.StartsWith(_text, _comparison))
                ? input[.._text.Length]
                : null;
        }

        if (_start)
        {
            return input.StartsWith(_text, _comparison) ? input[.._text.Length] : null;
        }

        if (_end)
        {
            if (input.EndsWith(_text, _comparison))
            {
                return input[^_text.Length..];
            }

            return input.EndsWith('\n') && input.AsSpan(0, input.Length - 1).EndsWith(_text, _comparison)
                ? input.Substring(input.Length - 1 - _text.Length, _text.Length)
                : null;
        }

        var at = input.IndexOf(_text, _comparison);
        return at < 0 ? null : input.Substring(at, _text.Length);
    }
}
