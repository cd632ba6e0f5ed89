using Portico.Config.Model;
using Portico.Config.Syntax;

namespace Portico.Config.Directives;

/// <summary>ngx_http_headers_module (https://nginx.org/en/docs/http/ngx_http_headers_module.html).</summary>
internal static class HeadersDirectives
{
    private static readonly TimeSpan s_day = TimeSpan.FromDays(1);

    public static IEnumerable<DirectiveSpec> All =>
    [
        new("add_header", DirectiveContext.HttpAll, Arity.Take23, BindAddHeader),
        new("expires", DirectiveContext.HttpAll, Arity.Take12, BindExpires),

        // ngx_http_charset_module without recoding (source_charset, charset_map and override_charset stay refused).
        new("charset", DirectiveContext.HttpAll, Arity.Take1, (ctx, d) => ctx.Set(d, s => s with { Charset = d.Args[0] == "off" ? null : d.Args[0] })),
        new("charset_types", DirectiveContext.HttpAll, Arity.OneMore, (ctx, d) =>
        {
            string[] types = [.. d.Args.Select(t => t.ToLowerInvariant()).Distinct()];
            ctx.Set(d, s => s with { CharsetTypes = types });
        }),
    ];

    private static void BindAddHeader(BindContext ctx, ConfigDirective d)
    {
        bool always = false;
        if (d.Args.Count == 3)
        {
            always = d.Args[2] == "always" ? true : throw BindContext.Error(d, $"invalid parameter \"{d.Args[2]}\"");
        }

        ctx.Level.List<AddHeaderConfig>("add_header", (s, l) => s with { AddHeaders = l })
            .Add(new AddHeaderConfig(d.Args[0], ctx.Value(d, 1), always, d.Where));
    }

    /// <summary>
    /// <c>expires [modified] TIME | epoch | max | off</c>; TIME may start with <c>-</c>/<c>+</c>, or
    /// with <c>@</c> for a time of day written as a time (<c>@15h30m</c>), as nginx parses it.
    /// </summary>
    private static void BindExpires(BindContext ctx, ConfigDirective d)
    {
        bool modified = false;
        int n = 0;
        if (d.Args.Count == 2)
        {
            if (d.Args[0] != "modified")
            {
                throw BindContext.DirectiveError(d, "invalid value");
            }

            modified = true;
            n = 1;
        }

        string v = d.Args[n];
        ExpiresConfig config;
        if (!modified && v is "epoch" or "max" or "off")
        {
            ExpiresMode mode = v switch { "epoch" => ExpiresMode.Epoch, "max" => ExpiresMode.Max, _ => ExpiresMode.Off };
            config = new ExpiresConfig(mode, TimeSpan.Zero, d.Where);
        }
        else if (v.StartsWith('@'))
        {
            if (modified)
            {
                throw BindContext.DirectiveError(d, "daily time cannot be used with \"modified\" parameter");
            }

            TimeSpan t = Values.Time(v.AsSpan(1), seconds: true) ?? throw BindContext.DirectiveError(d, "invalid value");
            if (t > s_day)
            {
                throw BindContext.DirectiveError(d, "daily time value must be less than 24 hours");
            }

            config = new ExpiresConfig(ExpiresMode.Daily, t, d.Where);
        }
        else
        {
            bool negative = v.StartsWith('-');
            ReadOnlySpan<char> text = v.StartsWith('-') || v.StartsWith('+') ? v.AsSpan(1) : v;
            TimeSpan t = Values.Time(text, seconds: true) ?? throw BindContext.DirectiveError(d, "invalid value");
            config = new ExpiresConfig(modified ? ExpiresMode.Modified : ExpiresMode.Access, negative ? -t : t, d.Where);
        }

        ctx.Set(d, s => s with { Expires = config });
    }
}
