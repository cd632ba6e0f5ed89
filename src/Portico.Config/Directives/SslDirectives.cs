using Portico.Config.Syntax;

namespace Portico.Config.Directives;

/// <summary>
/// ngx_http_ssl_module's common directives, checked as nginx checks them and otherwise inert: they take effect only
/// on a <c>listen ... ssl</c> socket, which Portico refuses at load (TLS is not built yet), and nginx itself reads no
/// certificate without one. So a stock nginx.conf loads (Debian's sets <c>ssl_protocols</c> and
/// <c>ssl_prefer_server_ciphers</c> at the http level), and a server that would need them is refused by name.
/// </summary>
internal static class SslDirectives
{
    private const DirectiveContext HttpServer = DirectiveContext.HttpServer;

    private static readonly (string Name, int Value)[] s_protocols =
        [("SSLv2", 1), ("SSLv3", 2), ("TLSv1", 4), ("TLSv1.1", 8), ("TLSv1.2", 16), ("TLSv1.3", 32)];

    public static IEnumerable<DirectiveSpec> All =>
    [
        // ngx_conf_set_bitmask_slot: every value must be known; occurrences add up.
        new("ssl_protocols", HttpServer, Arity.OneMore, (_, d) =>
        {
            foreach (string arg in d.Args)
            {
                Values.EnumValue(d, arg, s_protocols);
            }
        }),
        new("ssl_prefer_server_ciphers", HttpServer, Arity.Flag, (ctx, d) => Once(ctx, d, () => Values.Flag(d))),
        new("ssl_session_tickets", HttpServer, Arity.Flag, (ctx, d) => Once(ctx, d, () => Values.Flag(d))),
        new("ssl_stapling", HttpServer, Arity.Flag, (ctx, d) => Once(ctx, d, () => Values.Flag(d))),
        new("ssl_stapling_verify", HttpServer, Arity.Flag, (ctx, d) => Once(ctx, d, () => Values.Flag(d))),
        new("ssl_session_timeout", HttpServer, Arity.Take1, (ctx, d) => Once(ctx, d, () => Values.TimeArg(d, seconds: true))),
        new("ssl_buffer_size", HttpServer, Arity.Take1, (ctx, d) => Once(ctx, d, () => Values.SizeArg(d))),
        new("ssl_session_cache", HttpServer, Arity.Take12, (ctx, d) => Once(ctx, d, () => CheckSessionCache(d))),
        new("ssl_verify_client", HttpServer, Arity.Take1, (ctx, d) => Once(ctx, d, () =>
            Values.Enum(d, ("off", 0), ("on", 1), ("optional", 2), ("optional_no_ca", 3)))),
        new("ssl_ciphers", HttpServer, Arity.Take1, (ctx, d) => Once(ctx, d, () => { })),
        new("ssl_ecdh_curve", HttpServer, Arity.Take1, (ctx, d) => Once(ctx, d, () => { })),
        new("ssl_dhparam", HttpServer, Arity.Take1, (ctx, d) => Once(ctx, d, () => { })),
        new("ssl_trusted_certificate", HttpServer, Arity.Take1, (ctx, d) => Once(ctx, d, () => { })),
        new("ssl_client_certificate", HttpServer, Arity.Take1, (ctx, d) => Once(ctx, d, () => { })),

        // Arrays in nginx: several certificates (RSA and ECDSA) may be given. nginx reads them at load even without
        // an ssl listener, so a missing file fails the config here too.
        new("ssl_certificate", HttpServer, Arity.Take1, (ctx, d) => CheckReadable(ctx, d, "certificate")),
        new("ssl_certificate_key", HttpServer, Arity.Take1, (ctx, d) => CheckReadable(ctx, d, "certificate key")),
    ];

    /// <summary>ngx_ssl_certificate's first step: the file opens (a name with variables is read per handshake).</summary>
    private static void CheckReadable(BindContext ctx, ConfigDirective d, string what)
    {
        string path = d.Args[0];
        if (path.Contains('$', StringComparison.Ordinal) || path.StartsWith("data:", StringComparison.Ordinal) || path.StartsWith("engine:", StringComparison.Ordinal))
        {
            return;
        }

        string full = ctx.FullPath(path);
        try
        {
            using var file = File.OpenRead(full);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            string reason = e switch
            {
                FileNotFoundException or DirectoryNotFoundException => "2: No such file or directory",
                UnauthorizedAccessException => "13: Permission denied",
                _ => e.Message,
            };
            throw BindContext.Error(d, $"cannot load {what} \"{full}\": BIO_new_file() failed ({reason})");
        }
    }

    /// <summary>A scalar: the second at one level is "is duplicate", as nginx's slot functions say.</summary>
    private static void Once<T>(BindContext ctx, ConfigDirective d, Func<T> check)
    {
        _ = check();
        ctx.Set(d, s => s);
    }

    private static void Once(BindContext ctx, ConfigDirective d, Action check)
    {
        check();
        ctx.Set(d, s => s);
    }

    /// <summary>ngx_http_ssl_session_cache: <c>off</c>, <c>none</c>, <c>builtin[:SIZE]</c>, <c>shared:NAME:SIZE</c>.</summary>
    private static void CheckSessionCache(ConfigDirective d)
    {
        foreach (string arg in d.Args)
        {
            bool valid = arg is "off" or "none" or "builtin"
                || (arg.StartsWith("builtin:", StringComparison.Ordinal) && Values.Int(arg.AsSpan(8)) is > 0)
                || (arg.StartsWith("shared:", StringComparison.Ordinal) && arg.LastIndexOf(':') is var colon && colon > 7
                    && Values.Size(arg.AsSpan(colon + 1)) is > 0);
            if (!valid)
            {
                throw BindContext.Error(d, $"invalid session cache \"{arg}\"");
            }
        }
    }
}
