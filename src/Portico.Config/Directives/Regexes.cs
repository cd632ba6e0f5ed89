using System.Text.RegularExpressions;
using Portico.Config.Syntax;

namespace Portico.Config.Directives;

/// <summary>
/// nginx regexes are PCRE; the runtime uses .NET's engine. Patterns are translated where the
/// syntaxes differ (<c>(?P&lt;name&gt;</c> and <c>(?P=name)</c> are Python/PCRE spellings .NET lacks)
/// and compiled once at load so that a bad pattern fails the config, as pcre2_compile does.
/// </summary>
internal static partial class Regexes
{
    [GeneratedRegex(@"\(\?P<")]
    private static partial Regex PcreNamedGroup();

    [GeneratedRegex(@"\(\?P=(\w+)\)")]
    private static partial Regex PcreBackReference();

    /// <summary>Returns the .NET-compatible pattern, or throws nginx's pcre2_compile() error.</summary>
    public static string Validate(string pattern, ConfigDirective d, bool caseInsensitive) =>
        Compile(pattern, d, caseInsensitive).Pattern;

    public static (string Pattern, Regex Regex) Compile(string pattern, ConfigDirective d, bool caseInsensitive)
    {
        string net = PcreBackReference().Replace(PcreNamedGroup().Replace(pattern, "(?<"), @"\k<$1>");
        try
        {
            var options = RegexOptions.CultureInvariant | (caseInsensitive ? RegexOptions.IgnoreCase : RegexOptions.None);
            return (net, new Regex(net, options));
        }
        catch (RegexParseException e)
        {
            throw BindContext.Error(d, $"pcre2_compile() failed: {Describe(e)} in \"{pattern}\"");
        }
    }

    /// <summary>PCRE2's wording for the common mistakes, .NET's otherwise.</summary>
    private static string Describe(RegexParseException e) => e.Error switch
    {
        RegexParseError.InsufficientClosingParentheses => "missing closing parenthesis",
        RegexParseError.InsufficientOpeningParentheses => "unmatched closing parenthesis",
        RegexParseError.UnterminatedBracket => "missing terminating ] for character class",
        RegexParseError.QuantifierAfterNothing => "quantifier does not follow a repeatable item",
        RegexParseError.UnescapedEndingBackslash => "\\ at end of pattern",
        _ => e.Message,
    };
}
