using Portico.Config.Model;
using Portico.Config.Syntax;

namespace Portico.Config.Directives;

/// <summary>ngx_http_index_module (https://nginx.org/en/docs/http/ngx_http_index_module.html).</summary>
internal static class IndexDirectives
{
    public static IEnumerable<DirectiveSpec> All =>
    [
        new("index", DirectiveContext.HttpAll, Arity.OneMore, BindIndex),
    ];

    private static void BindIndex(BindContext ctx, ConfigDirective d)
    {
        List<ConfigValue> list = ctx.Level.List<ConfigValue>("index", (s, l) => s with { Index = l });
        for (int i = 0; i < d.Args.Count; i++)
        {
            if (d.Args[i].Length == 0)
            {
                throw BindContext.Error(d, "index \"\" in \"index\" directive is invalid");
            }

            // nginx only warns about an absolute index that is not the last one.
            list.Add(ctx.Value(d, i));
        }
    }
}
