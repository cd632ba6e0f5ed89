using System.Net;
using Portico.Config.Model;
using Portico.Config.Syntax;

namespace Portico.Config.Directives;

/// <summary>ngx_http_fastcgi_module (https://nginx.org/en/docs/http/ngx_http_fastcgi_module.html).</summary>
internal static class FastCgiDirectives
{
    private const DirectiveContext All3 = DirectiveContext.HttpAll;

    public static IEnumerable<DirectiveSpec> All =>
    [
        new("fastcgi_pass", DirectiveContext.Location, Arity.Take1, BindPass),
        new("fastcgi_param", All3, Arity.Take23, BindParam),
        new("fastcgi_index", All3, Arity.Take1, (ctx, d) => Set(ctx, d, f => f with { Index = ctx.Value(d, 0) })),
        new("fastcgi_split_path_info", All3, Arity.Take1, BindSplitPathInfo),
        new("fastcgi_keep_conn", All3, Arity.Flag, (ctx, d) => { bool v = Values.Flag(d); Set(ctx, d, f => f with { KeepConn = v }); }),
        new("fastcgi_socket_keepalive", All3, Arity.Flag, (ctx, d) => { bool v = Values.Flag(d); Set(ctx, d, f => f with { SocketKeepalive = v }); }),
        new("fastcgi_connect_timeout", All3, Arity.Take1, (ctx, d) => { TimeSpan v = Values.TimeArg(d); Set(ctx, d, f => f with { ConnectTimeout = v }); }),
        new("fastcgi_send_timeout", All3, Arity.Take1, (ctx, d) => { TimeSpan v = Values.TimeArg(d); Set(ctx, d, f => f with { SendTimeout = v }); }),
        new("fastcgi_read_timeout", All3, Arity.Take1, (ctx, d) => { TimeSpan v = Values.TimeArg(d); Set(ctx, d, f => f with { ReadTimeout = v }); }),
        new("fastcgi_intercept_errors", All3, Arity.Flag, (ctx, d) => { bool v = Values.Flag(d); Set(ctx, d, f => f with { InterceptErrors = v }); }),
        new("fastcgi_ignore_client_abort", All3, Arity.Flag, (ctx, d) => { bool v = Values.Flag(d); Set(ctx, d, f => f with { IgnoreClientAbort = v }); }),
        new("fastcgi_pass_request_headers", All3, Arity.Flag, (ctx, d) => { bool v = Values.Flag(d); Set(ctx, d, f => f with { PassRequestHeaders = v }); }),
        new("fastcgi_pass_request_body", All3, Arity.Flag, (ctx, d) => { bool v = Values.Flag(d); Set(ctx, d, f => f with { PassRequestBody = v }); }),
        new("fastcgi_hide_header", All3, Arity.Take1, (ctx, d) =>
            ctx.Level.List<string>("fastcgi_hide_header", (s, l) => s with { FastCgi = s.FastCgi with { HideHeaders = l } }).Add(d.Args[0])),
        new("fastcgi_force_ranges", All3, Arity.Flag, (ctx, d) => { bool v = Values.Flag(d); Set(ctx, d, f => f with { ForceRanges = v }); }),
        new("fastcgi_catch_stderr", All3, Arity.Take1, (ctx, d) =>
            ctx.Level.List<string>("fastcgi_catch_stderr", (s, l) => s with { FastCgi = s.FastCgi with { CatchStderr = l } }).Add(d.Args[0])),
        new("fastcgi_pass_header", All3, Arity.Take1, (ctx, d) =>
            ctx.Level.List<string>("fastcgi_pass_header", (s, l) => s with { FastCgi = s.FastCgi with { PassHeaders = l } }).Add(d.Args[0])),
        new("fastcgi_buffering", All3, Arity.Flag, (ctx, d) => { bool v = Values.Flag(d); Set(ctx, d, f => f with { Buffering = v }); }),
        new("fastcgi_request_buffering", All3, Arity.Flag, (ctx, d) => { bool v = Values.Flag(d); Set(ctx, d, f => f with { RequestBuffering = v }); }),
        new("fastcgi_buffer_size", All3, Arity.Take1, (ctx, d) => { long v = Values.SizeArg(d); Set(ctx, d, f => f with { BufferSize = v }); }),
        new("fastcgi_buffers", All3, Arity.Take2, (ctx, d) =>
        {
            int count = Values.Int(d.Args[0]) is int n and > 0 ? n : throw BindContext.DirectiveError(d, "invalid value");
            long size = Values.Size(d.Args[1]) is long z and > 0 ? z : throw BindContext.DirectiveError(d, "invalid value");
            Set(ctx, d, f => f with { BuffersCount = count, BuffersSize = size });
        }),
        new("fastcgi_busy_buffers_size", All3, Arity.Take1, (ctx, d) => { long v = Values.SizeArg(d); Set(ctx, d, f => f with { BusyBuffersSize = v }); }),
        new("fastcgi_temp_file_write_size", All3, Arity.Take1, (ctx, d) => { long v = Values.SizeArg(d); Set(ctx, d, f => f with { TempFileWriteSize = v }); }),
        new("fastcgi_max_temp_file_size", All3, Arity.Take1, (ctx, d) => { long v = Values.SizeArg(d); Set(ctx, d, f => f with { MaxTempFileSize = v }); }),
        new("fastcgi_next_upstream", All3, Arity.OneMore, BindNextUpstream),
        new("fastcgi_ignore_headers", All3, Arity.OneMore, BindIgnoreHeaders),
        new("fastcgi_next_upstream_tries", All3, Arity.Take1, (ctx, d) => { int v = Values.NumberArg(d); Set(ctx, d, f => f with { NextUpstreamTries = v }); }),
        new("fastcgi_next_upstream_timeout", All3, Arity.Take1, (ctx, d) => { TimeSpan v = Values.TimeArg(d); Set(ctx, d, f => f with { NextUpstreamTimeout = v }); }),
        new("client_body_temp_path", All3, Arity.Take1234, (ctx, d) =>
        {
            string path = TempPath(ctx, d);
            ctx.Set(d, s => s with { ClientBodyTempPath = path });
        }),
        new("fastcgi_temp_path", All3, Arity.Take1234, (ctx, d) =>
        {
            string path = TempPath(ctx, d);
            Set(ctx, d, f => f with { TempPath = path });
        }),
    ];

    /// <summary>A <c>*_temp_path PATH [LEVEL1 [LEVEL2 [LEVEL3]]]</c> directive's directory, made absolute from the
    /// prefix; the levels are checked as numbers (Portico's temp files have no name once open, so it has no use for
    /// nginx's hashed subdirectories).</summary>
    private static string TempPath(BindContext ctx, ConfigDirective d)
    {
        for (int i = 1; i < d.Args.Count; i++)
        {
            if (Values.Int(d.Args[i]) is not > 0)
            {
                throw BindContext.Error(d, $"invalid value \"{d.Args[i]}\"");
            }
        }

        return ctx.FullPath(d.Args[0]);
    }

    private static void Set(BindContext ctx, ConfigDirective d, Func<FastCgiSettings, FastCgiSettings> change) =>
        ctx.Set(d, s => s with { FastCgi = change(s.FastCgi) });

    /// <summary>
    /// <c>fastcgi_pass</c> takes <c>unix:PATH</c>, <c>HOST:PORT</c> or an upstream name (checked when
    /// the http block is complete, as nginx does). Host names are resolved by the runtime, not at load.
    /// </summary>
    private static void BindPass(BindContext ctx, ConfigDirective d)
    {
        ConfigValue target = ctx.Value(d, 0);
        var pass = new FastCgiPassConfig(target, d.Where);
        string text = target.Text;
        if (!target.HasVariables)
        {
            if (text.StartsWith("unix:", StringComparison.OrdinalIgnoreCase))
            {
                pass = text.Length > 5 ? pass with { UnixPath = text[5..] } : throw BindContext.Error(d, $"no path in the unix domain socket in upstream \"{text}\"");
            }
            else
            {
                if (text.Contains("://", StringComparison.Ordinal))
                {
                    throw BindContext.Error(d, $"invalid host in upstream \"{text}\"");
                }

                int colon = text.LastIndexOf(':');
                bool bracketed = text.StartsWith('[');
                if (colon > 0 && (!bracketed || text[colon - 1] == ']'))
                {
                    string host = bracketed ? text[1..(colon - 1)] : text[..colon];
                    if (bracketed && !IPAddress.TryParse(host, out _))
                    {
                        throw BindContext.Error(d, $"invalid host in upstream \"{text}\"");
                    }

                    int port = Values.Int(text.AsSpan(colon + 1)) is int p and >= 1 and <= 65535 ? p : throw BindContext.Error(d, $"invalid port in upstream \"{text}\"");
                    pass = pass with { Host = host, Port = port };
                }
                else
                {
                    // No port: it must name an upstream block, which may come later in the file.
                    pass = pass with { Upstream = text };
                }
            }
        }

        Set(ctx, d, f => f with { Pass = pass });
    }

    private static void BindParam(BindContext ctx, ConfigDirective d)
    {
        bool ifNotEmpty = false;
        if (d.Args.Count == 3)
        {
            ifNotEmpty = d.Args[2] == "if_not_empty" ? true : throw BindContext.Error(d, $"invalid parameter \"{d.Args[2]}\"");
        }

        ctx.Level.List<FastCgiParamConfig>("fastcgi_param", (s, l) => s with { FastCgi = s.FastCgi with { Params = l } })
            .Add(new FastCgiParamConfig(d.Args[0], ctx.Value(d, 1), ifNotEmpty, d.Where));
    }

    private static void BindSplitPathInfo(BindContext ctx, ConfigDirective d)
    {
        (string pattern, System.Text.RegularExpressions.Regex regex) = Regexes.Compile(d.Args[0], d, caseInsensitive: false);

        // GetGroupNumbers includes group 0, the whole match.
        if (regex.GetGroupNumbers().Length - 1 != 2)
        {
            throw BindContext.Error(d, $"pattern \"{d.Args[0]}\" must have 2 captures");
        }

        var value = new ConfigValue(pattern, d.Where);
        Set(ctx, d, f => f with { SplitPathInfo = value });
    }

    /// <summary>
    /// <c>fastcgi_ignore_headers FIELD ...</c>: names as nginx spells them, in any case (ngx_conf_set_bitmask_slot).
    /// </summary>
    private static void BindIgnoreHeaders(BindContext ctx, ConfigDirective d)
    {
        FastCgiIgnoredHeaders flags = FastCgiIgnoredHeaders.None;
        foreach (string v in d.Args)
        {
            flags |= v.ToLowerInvariant() switch
            {
                "x-accel-redirect" => FastCgiIgnoredHeaders.XAccelRedirect,
                "x-accel-expires" => FastCgiIgnoredHeaders.XAccelExpires,
                "x-accel-limit-rate" => FastCgiIgnoredHeaders.XAccelLimitRate,
                "x-accel-buffering" => FastCgiIgnoredHeaders.XAccelBuffering,
                "x-accel-charset" => FastCgiIgnoredHeaders.XAccelCharset,
                "expires" => FastCgiIgnoredHeaders.Expires,
                "cache-control" => FastCgiIgnoredHeaders.CacheControl,
                "set-cookie" => FastCgiIgnoredHeaders.SetCookie,
                "vary" => FastCgiIgnoredHeaders.Vary,
                _ => throw BindContext.Error(d, $"invalid value \"{v}\""),
            };
        }

        Set(ctx, d, f => f with { IgnoreHeaders = flags });
    }

    private static void BindNextUpstream(BindContext ctx, ConfigDirective d)
    {
        FastCgiNextUpstream flags = FastCgiNextUpstream.Off;
        foreach (string v in d.Args)
        {
            flags |= v switch
            {
                "error" => FastCgiNextUpstream.Error,
                "timeout" => FastCgiNextUpstream.Timeout,
                "invalid_header" => FastCgiNextUpstream.InvalidHeader,
                "http_500" => FastCgiNextUpstream.Http500,
                "http_503" => FastCgiNextUpstream.Http503,
                "http_403" => FastCgiNextUpstream.Http403,
                "http_404" => FastCgiNextUpstream.Http404,
                "http_429" => FastCgiNextUpstream.Http429,
                "non_idempotent" => FastCgiNextUpstream.NonIdempotent,
                "off" => FastCgiNextUpstream.Off,
                _ => throw BindContext.Error(d, $"invalid value \"{v}\""),
            };
        }

        // nginx: "off" wins over anything listed with it.
        if (d.Args.Contains("off"))
        {
            flags = FastCgiNextUpstream.Off;
        }

        Set(ctx, d, f => f with { NextUpstream = flags });
    }
}
