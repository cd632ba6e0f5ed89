using Portico.Config.Model;
using Portico.Server.Routing;
using Portico.Server.Variables;

namespace Portico.Server.Hosting;

/// <summary>
/// nginx registers the named captures of every regex in the config (locations, server names) and every name given
/// to <c>set</c> as variables at load, so they can be used anywhere (an unset one is empty). This collects those names.
/// </summary>
internal static class VariableScopeBuilder
{
    public static VariableScope FromConfig(HttpConfig http)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        var set = new HashSet<string>(StringComparer.Ordinal);
        foreach (var server in http.Servers)
        {
            foreach (var name in server.Names)
            {
                if (name.Kind == ServerNameKind.Regex)
                {
                    AddGroups(name.Text, ignoreCase: false, names);
                }
            }

            AddSets(server.Rewrites, set);
            AddLocations(server.Locations, names, set);
        }

        return VariableScope.Default.WithNamedCaptures(names).WithUserVariables(set);
    }

    private static void AddSets(IReadOnlyList<RewriteInstruction> program, HashSet<string> names)
    {
        foreach (var instruction in program)
        {
            if (instruction is not SetInstruction set)
            {
                continue;
            }

            // ngx_http_add_variable: a variable nginx computes cannot be set ("the duplicate ... variable"). nginx lets
            // a set name shadow the $http_, $sent_http_, $arg_, $cookie_ families; here those resolve first, so such a
            // set is refused by name rather than ignored.
            var computed = VariableRef.TryResolve(set.Name, VariableScope.Default, out var builtin) && builtin.Kind != VariableKind.Declared;
            if (computed || VariableScope.HandlerVariables.Contains(set.Name))
            {
                var family = computed && builtin.Kind is VariableKind.HttpHeader or VariableKind.SentHttpHeader or VariableKind.Arg or VariableKind.Cookie;
                throw new Portico.Config.ConfigException(
                    family ? $"setting \"${set.Name}\" is not supported by portico (it would not override the request's value)" : $"the duplicate \"{set.Name}\" variable",
                    set.Where);
            }

            names.Add(set.Name);
        }
    }

    private static void AddLocations(IReadOnlyList<LocationConfig> locations, HashSet<string> names, HashSet<string> set)
    {
        foreach (var location in locations)
        {
            if (location.Match is LocationMatch.Regex or LocationMatch.RegexCaseInsensitive)
            {
                AddGroups(location.Pattern, location.Match == LocationMatch.RegexCaseInsensitive, names);
            }

            AddSets(location.Rewrites, set);
            AddLocations(location.Locations, names, set);
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
