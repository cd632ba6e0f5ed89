using System.Collections.Frozen;
using Portico.Config.Syntax;

namespace Portico.Config.Directives;

/// <summary>
/// The one directive table: every supported directive with its contexts, arity and binder
/// (one file per nginx module), plus the nginx directives we recognise but do not support.
/// Dispatch follows ngx_conf_handler: unknown name, wrong context, block/terminator mismatch,
/// arity, then the binder.
/// </summary>
internal static class DirectiveTable
{
    private static readonly FrozenDictionary<string, DirectiveSpec[]> s_specs = Build();

    private static FrozenDictionary<string, DirectiveSpec[]> Build()
    {
        IEnumerable<DirectiveSpec> all =
        [
            .. CoreDirectives.All,
            .. EventsDirectives.All,
            .. HttpCoreDirectives.All,
            .. ListenDirectives.All,
            .. LocationDirectives.All,
            .. LogDirectives.All,
            .. RewriteDirectives.All,
            .. HeadersDirectives.All,
            .. AccessDirectives.All,
            .. GzipDirectives.All,
            .. SslDirectives.All,
            .. IndexDirectives.All,
            .. AutoindexDirectives.All,
            .. TypesDirectives.All,
            .. UpstreamDirectives.All,
            .. FastCgiDirectives.All,
        ];
        return all.GroupBy(s => s.Name, StringComparer.Ordinal)
            .ToFrozenDictionary(g => g.Key, g => g.ToArray(), StringComparer.Ordinal);
    }

    public static IEnumerable<string> SupportedNames => s_specs.Keys.Order(StringComparer.Ordinal);

    public static void BindAll(BindContext ctx, IReadOnlyList<ConfigDirective> directives)
    {
        foreach (ConfigDirective d in directives)
        {
            Bind(ctx, d);
        }
    }

    public static void Bind(BindContext ctx, ConfigDirective d)
    {
        if (!s_specs.TryGetValue(d.Name, out DirectiveSpec[]? specs))
        {
            if (UnsupportedDirectives.Contains(d.Name))
            {
                throw new ConfigException($"\"{d.Name}\" directive is not supported by portico", d.Where);
            }

            throw new ConfigException($"unknown directive \"{d.Name}\"", d.Where);
        }

        DirectiveSpec? spec = null;
        foreach (DirectiveSpec candidate in specs)
        {
            if ((candidate.Contexts & ctx.Context) != 0)
            {
                spec = candidate;
                break;
            }
        }

        if (spec is null)
        {
            throw new ConfigException($"\"{d.Name}\" directive is not allowed here", d.Where);
        }

        if (!spec.Arity.Block && d.IsBlock)
        {
            throw new ConfigException($"directive \"{d.Name}\" is not terminated by \";\"", d.Where);
        }

        if (spec.Arity.Block && !d.IsBlock)
        {
            throw new ConfigException($"directive \"{d.Name}\" has no opening \"{{\"", d.Where);
        }

        if (!spec.Arity.Accepts(d.Args.Count))
        {
            throw new ConfigException($"invalid number of arguments in \"{d.Name}\" directive", d.Where);
        }

        spec.Bind(ctx, d);
    }
}
