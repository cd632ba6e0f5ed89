using Portico.Config.Model;
using Portico.Config.Syntax;

namespace Portico.Config.Directives;

/// <summary>ngx_http_log_module (https://nginx.org/en/docs/http/ngx_http_log_module.html).</summary>
internal static class LogDirectives
{
    /// <summary>nginx's predefined format.</summary>
    public const string CombinedFormat =
        "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\"";

    /// <summary>nginx's buffer size when only <c>gzip</c> is given.</summary>
    private const int DefaultGzipBuffer = 64 * 1024;

    public static IEnumerable<DirectiveSpec> All =>
    [
        new("log_format", DirectiveContext.Http, Arity.TwoMore, BindLogFormat),
        new("access_log", DirectiveContext.HttpAll, Arity.OneMore, BindAccessLog),
    ];

    public static LogFormatConfig Combined(SourceLocation where) =>
        new("combined", LogEscape.Default, new ConfigValue(CombinedFormat, where));

    private static void BindLogFormat(BindContext ctx, ConfigDirective d)
    {
        string name = d.Args[0];
        Dictionary<string, LogFormatConfig> formats = ctx.Http!.LogFormats;
        if (name == "combined" || formats.ContainsKey(name))
        {
            throw BindContext.Error(d, $"duplicate \"log_format\" name \"{name}\"");
        }

        int first = 1;
        LogEscape escape = LogEscape.Default;
        if (d.Args[1].StartsWith("escape=", StringComparison.Ordinal))
        {
            escape = d.Args[1][7..] switch
            {
                "default" => LogEscape.Default,
                "json" => LogEscape.Json,
                "none" => LogEscape.None,
                string other => throw BindContext.Error(d, $"unknown log format escaping \"{other}\""),
            };
            first = 2;
            if (d.Args.Count == 2)
            {
                throw BindContext.Error(d, "invalid number of arguments in \"log_format\" directive");
            }
        }

        string text = string.Concat(d.Args.Skip(first));
        formats[name] = new LogFormatConfig(name, escape, new ConfigValue(text, d.Where));
    }

    private static void BindAccessLog(BindContext ctx, ConfigDirective d)
    {
        List<AccessLogConfig> logs = ctx.Level.List<AccessLogConfig>("access_log", (s, l) => s with
        {
            AccessLogs = l,
            AccessLogOff = ctx.Level.IsSet("access_log off"),
        });

        if (d.Args[0] == "off")
        {
            if (d.Args.Count != 1)
            {
                throw BindContext.Error(d, $"invalid parameter \"{d.Args[1]}\"");
            }

            ctx.Level.TrySet("access_log off", "access_log", s => s);
            return;
        }

        string path = d.Args[0];
        if (path.StartsWith("syslog:", StringComparison.Ordinal))
        {
            throw BindContext.Error(d, "\"access_log\" to syslog is not supported by portico");
        }

        ConfigValue target = path is "stdout" or "stderr" ? ctx.Value(d, 0) : ctx.PathValue(d, 0);
        string format = "combined";
        if (d.Args.Count > 1)
        {
            format = d.Args[1];
            if (format != "combined" && !ctx.Http!.LogFormats.ContainsKey(format))
            {
                throw BindContext.Error(d, $"unknown log format \"{format}\"");
            }
        }

        int buffer = 0;
        int? gzip = null;
        TimeSpan? flush = null;
        ConfigValue? condition = null;
        for (int i = 2; i < d.Args.Count; i++)
        {
            string p = d.Args[i];
            if (p.StartsWith("buffer=", StringComparison.Ordinal))
            {
                buffer = Values.Size(p.AsSpan(7)) is long b and > 0 and <= int.MaxValue
                    ? (int)b
                    : throw BindContext.Error(d, $"invalid buffer size \"{p[7..]}\"");
            }
            else if (p.StartsWith("flush=", StringComparison.Ordinal))
            {
                flush = Values.Time(p.AsSpan(6), seconds: false) is TimeSpan f && f > TimeSpan.Zero
                    ? f
                    : throw BindContext.Error(d, $"invalid flush time \"{p[6..]}\"");
            }
            else if (p == "gzip")
            {
                gzip = 1;
            }
            else if (p.StartsWith("gzip=", StringComparison.Ordinal))
            {
                gzip = Values.Int(p.AsSpan(5)) is int g and >= 1 and <= 9
                    ? g
                    : throw BindContext.Error(d, $"invalid compression level \"{p[5..]}\"");
            }
            else if (p.StartsWith("if=", StringComparison.Ordinal))
            {
                condition = new ConfigValue(p[3..], d.Where);
            }
            else
            {
                throw BindContext.Error(d, $"invalid parameter \"{p}\"");
            }
        }

        if (flush is not null && buffer == 0 && gzip is null)
        {
            throw BindContext.Error(d, $"no buffer is defined for access_log \"{path}\"");
        }

        if (gzip is not null && buffer == 0)
        {
            buffer = DefaultGzipBuffer;
        }

        logs.Add(new AccessLogConfig(target, format, buffer, flush, condition, d.Where) { GzipLevel = gzip });
    }
}
