using Portico.Config.Model;
using Portico.Server.Routing;
using Portico.Server.Variables;

namespace Portico.Server.Hosting;

/// <summary>
/// nginx registers the named captures of every regex in the config (locations, server names)
/// as variables at load, so they can be used anywhere. This collects those names.
/// </summary>
internal static class VariableScopeBuilder
{
    public static VariableScope FromConfig(HttpConfig http)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var server in http.Servers)
        {
            foreach (var name in server.Names)
            {
                if (name.Kind == ServerNameKind.Regex)
                {
                    AddGroups(name.Text, ignoreCase: false, names);
                }
            }

            AddLocations(server.Locations, names);
        }

        return VariableScope.Default.WithNamedCaptures(names);
    }

    private static void AddLocations(IReadOnlyList<LocationConfig> locations, HashSet<string> names)
    {
        foreach (var location in locations)
        {
            if (location.Match is LocationMatch.Regex or LocationMatch.RegexCaseInsensitive)
            {
                AddGroups(location.Pattern, location.Match == LocationMatch.RegexCaseInsensitive, names);
            }

            AddLocations(location.Locations, names);
        }
    }

    private static void AddGroups(string pattern, bool ignoreCase, HashSet<string> names)
    {
        foreach (var group in PcreRegex.Create(pattern, ignoreCase).GroupNames)
        {
            if (group is not null)
            {
                names.Add(group);
            }
        }
    }
}
