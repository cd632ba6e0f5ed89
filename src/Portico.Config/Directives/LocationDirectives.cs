using Portico.Config.Model;
using Portico.Config.Syntax;

namespace Portico.Config.Directives;

/// <summary><c>location</c> (https://nginx.org/en/docs/http/ngx_http_core_module.html#location).</summary>
internal static class LocationDirectives
{
    public static IEnumerable<DirectiveSpec> All =>
    [
        new("location", DirectiveContext.ServerLocation, Arity.BlockTake12, BindLocation),
    ];

    private static void BindLocation(BindContext ctx, ConfigDirective d)
    {
        (LocationMatch match, string name) = ParseModifier(d);
        if (match is LocationMatch.Regex or LocationMatch.RegexCaseInsensitive)
        {
            name = Regexes.Validate(name, d, match == LocationMatch.RegexCaseInsensitive);
        }

        LocationBuilder? parent = ctx.Location;
        if (parent is not null)
        {
            // The nesting rules of ngx_http_core_location, in its order.
            if (parent.Match == LocationMatch.Exact)
            {
                throw BindContext.Error(d, $"location \"{name}\" cannot be inside the exact location \"{parent.Pattern}\"");
            }

            if (parent.Match == LocationMatch.Named)
            {
                throw BindContext.Error(d, $"location \"{name}\" cannot be inside the named location \"{parent.Pattern}\"");
            }

            if (match == LocationMatch.Named)
            {
                throw BindContext.Error(d, $"named location \"{name}\" can be on the server level only");
            }

            if (match is not (LocationMatch.Regex or LocationMatch.RegexCaseInsensitive)
                && !name.StartsWith(parent.Pattern, StringComparison.Ordinal))
            {
                throw BindContext.Error(d, $"location \"{name}\" is outside location \"{parent.Pattern}\"");
            }
        }

        List<LocationBuilder> siblings = parent?.Locations ?? ctx.Server!.Locations;
        foreach (LocationBuilder other in siblings)
        {
            if (other.Pattern == name && IsDuplicate(other.Match, match))
            {
                throw BindContext.Error(d, $"duplicate location \"{name}\"");
            }
        }

        var location = new LocationBuilder { Match = match, Pattern = name, Where = d.Where };
        siblings.Add(location);
        DirectiveTable.BindAll(ctx.Enter(DirectiveContext.Location, location: location), d.Block!);
    }

    /// <summary>
    /// As ngx_http_join_exact_locations: two exact, or two prefix (plain or ^~) locations with
    /// the same URI are duplicates; regex locations may repeat. Named ones must be unique.
    /// </summary>
    private static bool IsDuplicate(LocationMatch a, LocationMatch b) => (a, b) switch
    {
        (LocationMatch.Exact, LocationMatch.Exact) => true,
        (LocationMatch.Named, LocationMatch.Named) => true,
        (LocationMatch.Prefix or LocationMatch.PrefixNoRegex, LocationMatch.Prefix or LocationMatch.PrefixNoRegex) => true,
        _ => false,
    };

    private static (LocationMatch, string) ParseModifier(ConfigDirective d)
    {
        if (d.Args.Count == 2)
        {
            string mod = d.Args[0];
            LocationMatch match = mod switch
            {
                "=" => LocationMatch.Exact,
                "~" => LocationMatch.Regex,
                "~*" => LocationMatch.RegexCaseInsensitive,
                "^~" => LocationMatch.PrefixNoRegex,
                _ => throw BindContext.Error(d, $"invalid location modifier \"{mod}\""),
            };
            return (match, d.Args[1]);
        }

        // nginx also accepts the modifier glued to the URI: "=/x", "~*\.php$", "^~/static".
        string arg = d.Args[0];
        if (arg.StartsWith('=') && arg.Length > 1)
        {
            return (LocationMatch.Exact, arg[1..]);
        }

        if (arg.StartsWith("^~", StringComparison.Ordinal) && arg.Length > 2)
        {
            return (LocationMatch.PrefixNoRegex, arg[2..]);
        }

        if (arg.StartsWith("~*", StringComparison.Ordinal) && arg.Length > 2)
        {
            return (LocationMatch.RegexCaseInsensitive, arg[2..]);
        }

        if (arg.StartsWith('~') && arg.Length > 1)
        {
            return (LocationMatch.Regex, arg[1..]);
        }

        if (arg.StartsWith('@'))
        {
            return (LocationMatch.Named, arg);
        }

        return (LocationMatch.Prefix, arg);
    }
}
