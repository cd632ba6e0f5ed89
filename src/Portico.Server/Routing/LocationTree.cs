using System.Text.RegularExpressions;
using Portico.Config.Model;

namespace Portico.Server.Routing;

/// <summary>
/// One level of locations (a server's, or a location's nested ones) compiled for lookup in
/// nginx's order (https://nginx.org/en/docs/http/ngx_http_core_module.html#location):
/// exact match stops; otherwise the longest prefix is remembered and its nested locations are
/// searched; then, unless that prefix is <c>^~</c>, this level's regexes are tried in file order
/// and the first match wins; else the longest prefix is used.
/// </summary>
internal sealed class LocationTree
{
    private readonly Dictionary<string, Node> _exact;

    // Longest first, so the first StartsWith hit is the longest match.
    private readonly Node[] _prefixes;
    private readonly RegexNode[] _regexes;

    private LocationTree(Dictionary<string, Node> exact, Node[] prefixes, RegexNode[] regexes)
    {
        _exact = exact;
        _prefixes = prefixes;
        _regexes = regexes;
    }

    public static LocationTree Empty { get; } = new([], [], []);

    public static LocationTree Compile(IReadOnlyList<LocationConfig> locations, Phases.SettingsCompiler compiler)
    {
        if (locations.Count == 0)
        {
            return Empty;
        }

        var exact = new Dictionary<string, Node>(StringComparer.Ordinal);
        var prefixes = new List<Node>();
        var regexes = new List<RegexNode>();
        foreach (var location in locations)
        {
            var nested = Compile(location.Locations, compiler);
            var runtime = new RuntimeLocation(location, compiler);
            switch (location.Match)
            {
                case LocationMatch.Exact:
                    exact[location.Pattern] = new Node(runtime, nested);
                    break;
                case LocationMatch.Prefix:
                case LocationMatch.PrefixNoRegex:
                    prefixes.Add(new Node(runtime, nested));
                    break;
                case LocationMatch.Regex:
                case LocationMatch.RegexCaseInsensitive:
                    regexes.Add(new RegexNode(runtime, nested, PcreRegex.Create(location.Pattern, location.Match == LocationMatch.RegexCaseInsensitive)));
                    break;
                case LocationMatch.Named:
                    break;
            }
        }

        prefixes.Sort((a, b) => b.Location.Config.Pattern.Length.CompareTo(a.Location.Config.Pattern.Length));
        return new LocationTree(exact, prefixes.ToArray(), regexes.ToArray());
    }

    /// <summary>Finds the location for <paramref name="uri"/>; null when nothing matches.</summary>
    public LocationMatchResult Find(string uri) => FindCore(uri, out _);

    private LocationMatchResult FindCore(string uri, out bool final)
    {
        if (_exact.TryGetValue(uri, out var exact))
        {
            final = true;
            return new LocationMatchResult(exact.Location, null);
        }

        LocationMatchResult best = default;
        var noRegex = false;
        foreach (var node in _prefixes)
        {
            if (uri.StartsWith(node.Location.Config.Pattern, StringComparison.Ordinal))
            {
                best = new LocationMatchResult(node.Location, null);
                noRegex = node.Location.Config.Match == LocationMatch.PrefixNoRegex;
                if (node.Nested != Empty)
                {
                    var nested = node.Nested.FindCore(uri, out var nestedFinal);
                    if (nested.Location is not null)
                    {
                        best = nested;
                    }

                    if (nestedFinal)
                    {
                        final = true;
                        return best;
                    }
                }

                break;
            }
        }

        if (!noRegex)
        {
            foreach (var node in _regexes)
            {
                Match? match = null;
                string? literal = null;
                if (node.Regex.Literal is { } plain)
                {
                    literal = plain.Match(uri);
                }
                else
                {
                    match = node.Regex.Match(uri);
                }

                if (literal is not null || match is { Success: true })
                {
                    final = true;
                    var result = new LocationMatchResult(node.Location, match, node.Regex.GroupNames, literal);
                    if (node.Nested != Empty)
                    {
                        // nginx searches a regex location's nested locations too.
                        var nested = node.Nested.FindCore(uri, out _);
                        if (nested.Location is not null)
                        {
                            return nested.Match is null && nested.Literal is null
                                ? nested with { Match = match, GroupNames = node.Regex.GroupNames, Literal = literal }
                                : nested;
                        }
                    }

                    return result;
                }
            }
        }

        // Only an exact or regex match ends the search; a ^~ prefix stops this level's regexes,
        // not those of enclosing levels (ngx_http_core_find_location returns NGX_AGAIN for it).
        final = false;
        return best;
    }

    private sealed record Node(RuntimeLocation Location, LocationTree Nested);

    private sealed record RegexNode(RuntimeLocation Location, LocationTree Nested, PcreRegex Regex);
}

/// <summary>The location found and the regex match that chose it (for captures), if any.</summary>
/// <summary>The location found, with its regex match; <paramref name="Literal"/> is the whole match ($0) when a
/// literal-only regex matched without the regex engine (then <paramref name="Match"/> is null).</summary>
internal readonly record struct LocationMatchResult(RuntimeLocation? Location, Match? Match, string?[]? GroupNames = null, string? Literal = null);
