using Portico.Config.Model;

namespace Portico.Config.Directives;

/// <summary>ngx_http_autoindex_module (https://nginx.org/en/docs/http/ngx_http_autoindex_module.html).</summary>
internal static class AutoindexDirectives
{
    public static IEnumerable<DirectiveSpec> All =>
    [
        new("autoindex", DirectiveContext.HttpAll, Arity.Flag, (ctx, d) => { bool v = Values.Flag(d); ctx.Set(d, s => s with { Autoindex = v }); }),
        new("autoindex_exact_size", DirectiveContext.HttpAll, Arity.Flag, (ctx, d) => { bool v = Values.Flag(d); ctx.Set(d, s => s with { AutoindexExactSize = v }); }),
        new("autoindex_localtime", DirectiveContext.HttpAll, Arity.Flag, (ctx, d) => { bool v = Values.Flag(d); ctx.Set(d, s => s with { AutoindexLocaltime = v }); }),
        new("autoindex_format", DirectiveContext.HttpAll, Arity.Take1, (ctx, d) =>
        {
            AutoindexFormat v = Values.Enum(d, ("html", AutoindexFormat.Html), ("xml", AutoindexFormat.Xml), ("json", AutoindexFormat.Json), ("jsonp", AutoindexFormat.Jsonp));
            ctx.Set(d, s => s with { AutoindexFormat = v });
        }),
    ];
}
