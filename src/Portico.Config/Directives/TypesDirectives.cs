using Portico.Config.Syntax;

namespace Portico.Config.Directives;

/// <summary>
/// <c>types { TYPE EXT...; }</c> (https://nginx.org/en/docs/http/ngx_http_core_module.html#types).
/// Inside the block every directive is a type line, so it is bound here rather than through the table.
/// A level's <c>types</c> replaces the inherited map; a repeated extension takes the later type
/// (nginx warns "duplicate extension").
/// </summary>
internal static class TypesDirectives
{
    public static IEnumerable<DirectiveSpec> All =>
    [
        new("types", DirectiveContext.HttpAll, Arity.BlockNoArgs, BindTypes),
    ];

    /// <summary>nginx's built-in map when no level has <c>types</c>.</summary>
    public static IReadOnlyDictionary<string, string> Defaults { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["html"] = "text/html",
        ["gif"] = "image/gif",
        ["jpg"] = "image/jpeg",
    };

    private static void BindTypes(BindContext ctx, ConfigDirective d)
    {
        // Several types blocks at one level add up, as in nginx.
        List<(string Ext, string Type)> entries = ctx.Level.List<(string, string)>("types", (s, l) => s with { Types = ToMap(l) });
        foreach (ConfigDirective line in d.Block!)
        {
            if (line.IsBlock)
            {
                throw BindContext.Error(line, "unexpected \"{\"");
            }

            if (line.Name == "include")
            {
                // A well-formed include was expanded by the parser; this one is malformed.
                DirectiveTable.Bind(ctx, line);
            }

            foreach (string ext in line.Args)
            {
                entries.Add((ext.ToLowerInvariant(), line.Name));
            }
        }
    }

    private static Dictionary<string, string> ToMap(List<(string Ext, string Type)> entries)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach ((string ext, string type) in entries)
        {
            map[ext] = type;
        }

        return map;
    }
}
