using Portico.Config;

namespace Portico.Server.Variables;

/// <summary>One piece of a parsed config string: literal text, or a variable.</summary>
internal readonly record struct ValuePart(string? Literal, VariableRef Variable)
{
    public bool IsLiteral => Literal is not null;
}

/// <summary>
/// Splits a config string into literal text and variable references with nginx's rules:
/// <c>$name</c> where a name is <c>[A-Za-z0-9_]+</c>, <c>${name}</c> to end a name before a name
/// character, and (in scripts only) <c>$1</c>..<c>$9</c> for regex captures. A <c>$</c> that starts
/// no name is an error, never literal text.
/// </summary>
internal static class VariableParser
{
    internal enum Mode
    {
        /// <summary>ngx_http_script_compile: "$1".."$9" are captures; errors say "invalid variable name".</summary>
        Script,

        /// <summary>ngx_http_log_compile: a digit is just a name character ("$1" is an unknown variable).</summary>
        LogFormat,
    }

    public static List<ValuePart> Parse(string text, SourceLocation? where, VariableScope scope, Mode mode)
    {
        var parts = new List<ValuePart>();
        var literalStart = 0;
        var i = 0;
        while (i < text.Length)
        {
            if (text[i] != '$')
            {
                i++;
                continue;
            }

            if (i > literalStart)
            {
                parts.Add(new ValuePart(text[literalStart..i], default));
            }

            i++;
            if (i == text.Length)
            {
                throw Invalid(text, where, mode);
            }

            if (mode == Mode.Script && text[i] is >= '1' and <= '9')
            {
                // Only one digit: "$12" is capture 1 followed by "2" (ngx_http_script_compile).
                parts.Add(new ValuePart(null, VariableRef.Capture(text[i] - '0')));
                i++;
                literalStart = i;
                continue;
            }

            var bracket = false;
            if (text[i] == '{')
            {
                bracket = true;
                i++;
                if (i == text.Length)
                {
                    throw Invalid(text, where, mode);
                }
            }

            var nameStart = i;
            while (i < text.Length && IsNameChar(text[i]))
            {
                i++;
            }

            var name = text[nameStart..i];
            if (bracket)
            {
                if (i == text.Length || text[i] != '}')
                {
                    throw new ConfigException($"the closing bracket in \"{name}\" variable is missing", where);
                }

                i++;
            }

            if (name.Length == 0)
            {
                throw Invalid(text, where, mode);
            }

            if (!VariableRef.TryResolve(name, scope, out var variable))
            {
                throw new ConfigException($"unknown \"{name.ToLowerInvariant()}\" variable", where);
            }

            parts.Add(new ValuePart(null, variable));
            literalStart = i;
        }

        if (literalStart < text.Length)
        {
            parts.Add(new ValuePart(text[literalStart..], default));
        }

        return parts;
    }

    private static bool IsNameChar(char c) => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '_';

    private static ConfigException Invalid(string text, SourceLocation? where, Mode mode) => mode == Mode.Script
        ? new ConfigException("invalid variable name", where)
        : new ConfigException($"invalid parameter \"{text}\"", where);
}
