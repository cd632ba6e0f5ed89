using Portico.Config.Model;
using Portico.Config.Syntax;

namespace Portico.Config.Directives;

/// <summary>
/// ngx_http_gzip_module, ngx_http_gzip_static_module and the gzip_* directives of ngx_http_core_module
/// (https://nginx.org/en/docs/http/ngx_http_gzip_module.html). <c>gunzip</c> stays refused.
/// </summary>
internal static class GzipDirectives
{
    private const DirectiveContext All3 = DirectiveContext.HttpAll;

    /// <summary>gzip_proxied's parameters, in nginx's order (also the dump's).</summary>
    internal static readonly (string Name, GzipProxied Value)[] ProxiedNames =
    [
        ("off", GzipProxied.Off), ("expired", GzipProxied.Expired), ("no-cache", GzipProxied.NoCache),
        ("no-store", GzipProxied.NoStore), ("private", GzipProxied.Private), ("no_last_modified", GzipProxied.NoLastModified),
        ("no_etag", GzipProxied.NoEtag), ("auth", GzipProxied.Auth), ("any", GzipProxied.Any),
    ];

    public static IEnumerable<DirectiveSpec> All =>
    [
        new("gzip", All3, Arity.Flag, (ctx, d) => { bool v = Values.Flag(d); Set(ctx, d, g => g with { Enabled = v }); }),
        new("gzip_comp_level", All3, Arity.Take1, (ctx, d) =>
        {
            // ngx_conf_check_num_bounds.
            int level = Values.NumberArg(d);
            if (level is < 1 or > 9)
            {
                throw BindContext.Error(d, "value must be between 1 and 9");
            }

            Set(ctx, d, g => g with { CompLevel = level });
        }),
        new("gzip_min_length", All3, Arity.Take1, (ctx, d) => { long v = Values.SizeArg(d); Set(ctx, d, g => g with { MinLength = v }); }),
        new("gzip_buffers", All3, Arity.Take2, (ctx, d) =>
        {
            int count = Values.Int(d.Args[0]) is int n and > 0 ? n : throw BindContext.DirectiveError(d, "invalid value");
            long size = Values.Size(d.Args[1]) is long z and > 0 ? z : throw BindContext.DirectiveError(d, "invalid value");
            Set(ctx, d, g => g with { BuffersCount = count, BuffersSize = size });
        }),

        // ngx_http_types_slot: each occurrence adds to the level's list; "*" is any type.
        new("gzip_types", All3, Arity.OneMore, (ctx, d) =>
            ctx.Level.List<string>("gzip_types", (s, l) => s with { Gzip = s.Gzip with { Types = l.Contains("*") ? null : [.. l.Distinct()] } })
                .AddRange(d.Args.Select(t => t.ToLowerInvariant()))),
        new("gzip_http_version", All3, Arity.Take1, (ctx, d) =>
        {
            bool http10 = Values.Enum(d, ("1.0", true), ("1.1", false));
            Set(ctx, d, g => g with { Http10 = http10 });
        }),
        new("gzip_vary", All3, Arity.Flag, (ctx, d) => { bool v = Values.Flag(d); Set(ctx, d, g => g with { Vary = v }); }),

        // ngx_conf_set_bitmask_slot: the values of every occurrence at a level add up.
        new("gzip_proxied", All3, Arity.OneMore, (ctx, d) =>
        {
            var list = ctx.Level.List<GzipProxied>("gzip_proxied", (s, l) => s with { Gzip = s.Gzip with { Proxied = l.Aggregate(GzipProxied.None, (a, b) => a | b) } });
            foreach (string arg in d.Args)
            {
                list.Add(Values.EnumValue(d, arg, ProxiedNames));
            }
        }),
        new("gzip_disable", All3, Arity.OneMore, BindDisable),
        new("gzip_static", All3, Arity.Take1, (ctx, d) =>
        {
            GzipStaticMode mode = Values.Enum(d, ("off", GzipStaticMode.Off), ("on", GzipStaticMode.On), ("always", GzipStaticMode.Always));
            Set(ctx, d, g => g with { Static = mode });
        }),
    ];

    /// <summary>
    /// <c>gzip_disable</c>: <c>msie6</c> is nginx's own test (MSIE 4-6 without SV1); anything else is a regex matched
    /// without regard to case against User-Agent, compiled at load so a bad one fails the config.
    /// </summary>
    private static void BindDisable(BindContext ctx, ConfigDirective d)
    {
        var regexes = ctx.Level.List<string>("gzip_disable", (s, l) => s with
        {
            Gzip = s.Gzip with { DisableMsie6 = l.Contains(Msie6Marker), DisableRegexes = [.. l.Where(p => p != Msie6Marker)] },
        });
        foreach (string arg in d.Args)
        {
            regexes.Add(arg == "msie6" ? Msie6Marker : Regexes.Validate(arg, d, caseInsensitive: true));
        }
    }

    // Not a valid .NET pattern, so no regex can collide with it.
    private const string Msie6Marker = "(msie6";

    private static void Set(BindContext ctx, ConfigDirective d, Func<GzipSettings, GzipSettings> change) =>
        ctx.Set(d, s => s with { Gzip = change(s.Gzip) });
}
