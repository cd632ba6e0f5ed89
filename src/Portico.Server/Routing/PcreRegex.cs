using System.Text.RegularExpressions;

namespace Portico.Server.Routing;

/// <summary>
/// Builds .NET regexes from the PCRE patterns nginx configs use. The dialects agree on what
/// configs use in practice; PCRE's <c>(?P&lt;name&gt;...)</c> named group is rewritten to .NET's form.
/// </summary>
internal static class PcreRegex
{
    // Location and server_name regexes run on every request: a timeout bounds a pathological
    // pattern (catastrophic backtracking) to a 500 instead of a stuck worker.
    private static readonly TimeSpan s_matchTimeout = TimeSpan.FromSeconds(1);

    public static Regex Create(string pattern, bool ignoreCase)
    {
        var options = RegexOptions.CultureInvariant;
        if (ignoreCase)
        {
            options |= RegexOptions.IgnoreCase;
        }

        return new Regex(pattern.Replace("(?P<", "(?<", StringComparison.Ordinal), options, s_matchTimeout);
    }
}
