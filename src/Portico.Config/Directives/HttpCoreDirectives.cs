using Portico.Config.Model;
using Portico.Config.Syntax;

namespace Portico.Config.Directives;

/// <summary>
/// ngx_http_core_module settings (https://nginx.org/en/docs/http/ngx_http_core_module.html).
/// <c>listen</c>, <c>server_name</c> and <c>location</c> have their own files. Accepted no-ops:
/// <c>types_hash_max_size</c>, <c>types_hash_bucket_size</c>, <c>server_names_hash_max_size</c>,
/// <c>server_names_hash_bucket_size</c>, <c>variables_hash_max_size</c>,
/// <c>variables_hash_bucket_size</c> (our tables are not nginx's hashes).
/// </summary>
internal static class HttpCoreDirectives
{
    private const DirectiveContext All3 = DirectiveContext.HttpAll;

    public static IEnumerable<DirectiveSpec> All =>
    [
        new("server", DirectiveContext.Http, Arity.BlockNoArgs, BindServer),

        new("root", All3, Arity.Take1, BindRoot),
        new("alias", DirectiveContext.Location, Arity.Take1, BindAlias),
        new("try_files", DirectiveContext.ServerLocation, Arity.TwoMore, BindTryFiles),
        new("internal", DirectiveContext.Location, Arity.NoArgs, (ctx, d) => ctx.Set(d, s => s with { Internal = true })),
        new("default_type", All3, Arity.Take1, (ctx, d) => ctx.Set(d, s => s with { DefaultType = d.Args[0] })),
        new("etag", All3, Arity.Flag, (ctx, d) => { bool v = Values.Flag(d); ctx.Set(d, s => s with { Etag = v }); }),
        new("if_modified_since", All3, Arity.Take1, (ctx, d) =>
        {
            IfModifiedSinceMode v = Values.Enum(d, ("off", IfModifiedSinceMode.Off), ("exact", IfModifiedSinceMode.Exact), ("before", IfModifiedSinceMode.Before));
            ctx.Set(d, s => s with { IfModifiedSince = v });
        }),
        new("server_tokens", All3, Arity.Take1, (ctx, d) =>
        {
            ServerTokens v = Values.Enum(d, ("off", ServerTokens.Off), ("on", ServerTokens.On), ("build", ServerTokens.Build));
            ctx.Set(d, s => s with { ServerTokens = v });
        }),
        new("merge_slashes", DirectiveContext.HttpServer, Arity.Flag, (ctx, d) => { bool v = Values.Flag(d); ctx.Set(d, s => s with { MergeSlashes = v }); }),

        new("client_max_body_size", All3, Arity.Take1, (ctx, d) => { long v = Values.SizeArg(d); ctx.Set(d, s => s with { ClientMaxBodySize = v }); }),
        new("client_body_buffer_size", All3, Arity.Take1, (ctx, d) => { long v = Values.SizeArg(d); ctx.Set(d, s => s with { ClientBodyBufferSize = v }); }),
        new("client_header_buffer_size", DirectiveContext.HttpServer, Arity.Take1, (ctx, d) => { long v = Values.SizeArg(d); ctx.Set(d, s => s with { ClientHeaderBufferSize = v }); }),
        new("large_client_header_buffers", DirectiveContext.HttpServer, Arity.Take2, (ctx, d) =>
        {
            // ngx_conf_set_bufs_slot
            int count = Values.Int(d.Args[0]) is int n and > 0 ? n : throw BindContext.DirectiveError(d, "invalid value");
            long size = Values.Size(d.Args[1]) is long z and > 0 ? z : throw BindContext.DirectiveError(d, "invalid value");
            ctx.Set(d, s => s with { LargeClientHeaderBuffersCount = count, LargeClientHeaderBufferSize = size });
        }),

        new("keepalive_timeout", All3, Arity.Take12, (ctx, d) =>
        {
            TimeSpan timeout = Values.TimeArg(d);
            TimeSpan? header = d.Args.Count == 2 ? Values.TimeArg(d, 1, seconds: true) : null;
            ctx.Set(d, s => s with { KeepaliveTimeout = timeout, KeepaliveHeaderTimeout = header });
        }),
        new("keepalive_requests", All3, Arity.Take1, (ctx, d) => { int v = Values.NumberArg(d); ctx.Set(d, s => s with { KeepaliveRequests = v }); }),
        new("keepalive_time", All3, Arity.Take1, (ctx, d) => { TimeSpan v = Values.TimeArg(d); ctx.Set(d, s => s with { KeepaliveTime = v }); }),
        new("send_timeout", All3, Arity.Take1, (ctx, d) => { TimeSpan v = Values.TimeArg(d); ctx.Set(d, s => s with { SendTimeout = v }); }),
        new("client_header_timeout", DirectiveContext.HttpServer, Arity.Take1, (ctx, d) => { TimeSpan v = Values.TimeArg(d); ctx.Set(d, s => s with { ClientHeaderTimeout = v }); }),
        new("client_body_timeout", All3, Arity.Take1, (ctx, d) => { TimeSpan v = Values.TimeArg(d); ctx.Set(d, s => s with { ClientBodyTimeout = v }); }),

        new("sendfile", All3, Arity.Flag, (ctx, d) => { bool v = Values.Flag(d); ctx.Set(d, s => s with { Sendfile = v }); }),
        new("tcp_nopush", All3, Arity.Flag, (ctx, d) => { bool v = Values.Flag(d); ctx.Set(d, s => s with { TcpNopush = v }); }),
        new("tcp_nodelay", All3, Arity.Flag, (ctx, d) => { bool v = Values.Flag(d); ctx.Set(d, s => s with { TcpNodelay = v }); }),
        new("log_not_found", All3, Arity.Flag, (ctx, d) => { bool v = Values.Flag(d); ctx.Set(d, s => s with { LogNotFound = v }); }),
        new("recursive_error_pages", All3, Arity.Flag, (ctx, d) => { bool v = Values.Flag(d); ctx.Set(d, s => s with { RecursiveErrorPages = v }); }),
        new("error_page", All3, Arity.TwoMore, BindErrorPage),

        new("types_hash_max_size", All3, Arity.Take1, (_, d) => Values.NumberArg(d)),
        new("types_hash_bucket_size", All3, Arity.Take1, (_, d) => Values.NumberArg(d)),
        new("server_names_hash_max_size", DirectiveContext.Http, Arity.Take1, (_, d) => Values.NumberArg(d)),
        new("server_names_hash_bucket_size", DirectiveContext.Http, Arity.Take1, (_, d) => Values.NumberArg(d)),
        new("variables_hash_max_size", DirectiveContext.Http, Arity.Take1, (_, d) => Values.NumberArg(d)),
        new("variables_hash_bucket_size", DirectiveContext.Http, Arity.Take1, (_, d) => Values.NumberArg(d)),
    ];

    private static void BindServer(BindContext ctx, ConfigDirective d)
    {
        var server = new ServerBuilder(d.Where);
        ctx.Http!.Servers.Add(server);
        DirectiveTable.BindAll(ctx.Enter(DirectiveContext.Server, server: server), d.Block!);
    }

    /// <summary>
    /// <c>root</c> and <c>alias</c> are one setting in nginx (a nested location inherits the pair),
    /// hence the shared key and nginx's cross-wording "... was specified earlier".
    /// nginx drops a trailing slash of root (not of alias).
    /// </summary>
    private static void BindRoot(BindContext ctx, ConfigDirective d)
    {
        CheckRootAlias(ctx, d);
        ConfigValue root = ctx.PathValue(d, 0);
        if (root.Text.Length > 1 && root.Text.EndsWith('/'))
        {
            root = root with { Text = root.Text[..^1] };
        }

        ctx.Set(d, s => s with { Root = root, Alias = null }, "root|alias");
    }

    private static void BindAlias(BindContext ctx, ConfigDirective d)
    {
        if (ctx.Location is { Match: LocationMatch.Named })
        {
            throw BindContext.Error(d, "the \"alias\" directive cannot be used inside the named location");
        }

        CheckRootAlias(ctx, d);
        ConfigValue alias = ctx.PathValue(d, 0);
        ctx.Set(d, s => s with { Alias = alias }, "root|alias");
    }

    private static void CheckRootAlias(BindContext ctx, ConfigDirective d)
    {
        // These two are computed from root/alias, so they cannot define it (ngx_http_core_root).
        foreach (string variable in (ReadOnlySpan<string>)["document_root", "realpath_root"])
        {
            if (d.Args[0].Contains("$" + variable, StringComparison.Ordinal) || d.Args[0].Contains("${" + variable + "}", StringComparison.Ordinal))
            {
                throw BindContext.Error(d, $"the ${variable} variable cannot be used in the \"{d.Name}\" directive");
            }
        }

        if (ctx.Level.SetBy.TryGetValue("root|alias", out string? earlier))
        {
            throw earlier == d.Name
                ? BindContext.DirectiveError(d, "is duplicate")
                : BindContext.DirectiveError(d, $"is duplicate, \"{earlier}\" directive was specified earlier");
        }
    }

    private static void BindTryFiles(BindContext ctx, ConfigDirective d)
    {
        string last = d.Args[^1];
        if (last.StartsWith('=') && (Values.Int(last.AsSpan(1)) is not int code || code > 999))
        {
            throw BindContext.Error(d, $"invalid code \"{last}\"");
        }

        var files = new List<ConfigValue>();
        for (int i = 0; i < d.Args.Count - 1; i++)
        {
            files.Add(ctx.Value(d, i));
        }

        var config = new TryFilesConfig(files, ctx.Value(d, d.Args.Count - 1), d.Where);
        ctx.Set(d, s => s with { TryFiles = config });
    }

    /// <summary>https://nginx.org/en/docs/http/ngx_http_core_module.html#error_page</summary>
    private static void BindErrorPage(BindContext ctx, ConfigDirective d)
    {
        int n = d.Args.Count;
        string maybeEq = d.Args[n - 2];
        int? response = null;
        int codesEnd = n - 1;
        if (maybeEq.StartsWith('='))
        {
            if (n - 2 == 0)
            {
                throw BindContext.Error(d, $"invalid value \"{maybeEq}\"");
            }

            response = maybeEq.Length == 1 ? 0 : Values.Int(maybeEq.AsSpan(1)) ?? throw BindContext.Error(d, $"invalid value \"{maybeEq}\"");
            codesEnd = n - 2;
        }

        var codes = new List<int>();
        for (int i = 0; i < codesEnd; i++)
        {
            string arg = d.Args[i];
            int code = Values.Int(arg) is int c && c != 499 ? c : throw BindContext.Error(d, $"invalid value \"{arg}\"");
            if (code is < 300 or > 599)
            {
                throw BindContext.Error(d, $"value \"{arg}\" must be between 300 and 599");
            }

            codes.Add(code);
        }

        ctx.Level.List<ErrorPageConfig>("error_page", (s, l) => s with { ErrorPages = l })
            .Add(new ErrorPageConfig(codes, response, ctx.Value(d, n - 1), d.Where));
    }
}
