using System.Globalization;
using System.Text;
using Portico.Config;
using Portico.Server.Phases;
using Portico.Server.Variables;

namespace Portico.Server.Logging;

/// <summary>
/// nginx's error log: <c>error_log FILE [LEVEL]</c>, a message is written to every target whose
/// level it reaches (https://nginx.org/en/docs/ngx_core_module.html#error_log). Line format as
/// ngx_log_error_core plus ngx_http_log_error_handler:
/// <c>2026/11/24 10:00:00 [error] PID#TID: *CID message, client: 1.2.3.4, server: example.com, request: "GET / HTTP/1.1", host: "example.com"</c>.
/// Until a configuration is loaded it writes to stderr; writes to a closed stderr are ignored.
/// </summary>
internal sealed class ErrorLog
{
    private static readonly string[] s_levels = ["debug", "info", "notice", "warn", "error", "crit", "alert", "emerg"];

    private readonly VariableClock _clock;
    private Target[] _main;

    internal ErrorLog(VariableClock clock, Target[] initial)
    {
        _clock = clock;
        _main = initial;
    }

    internal readonly record struct Target(LogFile File, LogLevel Level);

    /// <summary>The lowest level any main target writes (callers may skip building a debug message).</summary>
    public bool IsEnabled(LogLevel level)
    {
        foreach (var t in Volatile.Read(ref _main))
        {
            if (level >= t.Level)
            {
                return true;
            }
        }

        return false;
    }

    internal void SetMainTargets(Target[] targets) => Volatile.Write(ref _main, targets);

    internal Func<RequestContext, Target[]?>? RequestTargets { get; set; }

    /// <summary>A message without a request (startup, signals, the log writer itself).</summary>
    public void Write(LogLevel level, string message) => Write(level, null, message);

    /// <summary>
    /// Writes <paramref name="message"/> with the request's context suffix. <paramref name="upstream"/>
    /// is the <c>upstream: "..."</c> part (e.g. <c>fastcgi://127.0.0.1:9000</c>) when a handler has one.
    /// </summary>
    public void Write(LogLevel level, RequestContext? ctx, string message, string? upstream = null)
    {
        var targets = (ctx is not null ? RequestTargets?.Invoke(ctx) : null) ?? Volatile.Read(ref _main);
        var wanted = false;
        foreach (var t in targets)
        {
            wanted |= level >= t.Level;
        }

        if (!wanted)
        {
            return;
        }

        var line = Format(level, ctx, message, upstream);
        foreach (var t in targets)
        {
            if (level >= t.Level)
            {
                t.File.Append(line);
            }
        }
    }

    internal byte[] Format(LogLevel level, RequestContext? ctx, string message, string? upstream)
    {
        // Written as UTF-8 in one pass: every 404 of a missing file and every 502 of a backend that is down logs a line.
        var line = new LogLineWriter(stackalloc byte[512]);
        try
        {
            line.Append(_clock.Now().ErrorLogTimeUtf8);
            line.Append(" ["u8);
            line.Append(s_levelsUtf8[(int)level]);
            line.Append("] "u8);
            line.Append(s_pid);
            line.Append((byte)'#');
            line.Append(Environment.CurrentManagedThreadId);
            line.Append(": "u8);
            if (ctx is not null)
            {
                line.Append((byte)'*');
                line.Append(ctx.ConnectionSerial);
                line.Append((byte)' ');
            }

            line.Append(message);
            if (ctx is not null)
            {
                var http = ctx.Http;
                line.Append(", client: "u8);
                line.Append(VariableText(ctx, "remote_addr") ?? "");
                line.Append(", server: "u8);
                line.Append(ctx.Server.PrimaryName);
                if (VariableText(ctx, "request") is { } request)
                {
                    line.Append(", request: \""u8);
                    line.Append(request);
                    line.Append((byte)'"');
                }

                if (upstream is not null)
                {
                    line.Append(", upstream: \""u8);
                    line.Append(upstream);
                    line.Append((byte)'"');
                }

                // nginx prints the Host header as sent (not $host), and the referrer when there is one.
                if (http.Request.Headers.Host is { Count: > 0 } host)
                {
                    line.Append(", host: \""u8);
                    line.Append(host[0] ?? "");
                    line.Append((byte)'"');
                }

                if (http.Request.Headers.Referer is { Count: > 0 } referer)
                {
                    line.Append(", referrer: \""u8);
                    line.Append(referer[0] ?? "");
                    line.Append((byte)'"');
                }
            }

            line.Append((byte)'\n');
            return line.ToArray();
        }
        finally
        {
            line.Dispose();
        }
    }

    private static readonly byte[][] s_levelsUtf8 = [.. s_levels.Select(Encoding.ASCII.GetBytes)];

    private static readonly byte[] s_pid = Encoding.ASCII.GetBytes(Environment.ProcessId.ToString(CultureInfo.InvariantCulture));

    private string? VariableText(RequestContext ctx, string name)
    {
        var v = name == "request" ? s_request : s_remoteAddr;
        return v.Get(ctx, _clock);
    }

    private static readonly VariableRef s_request = Resolve("request");
    private static readonly VariableRef s_remoteAddr = Resolve("remote_addr");

    private static VariableRef Resolve(string name)
    {
        VariableRef.TryResolve(name, VariableScope.Default, out var v);
        return v;
    }

    internal static string LevelName(LogLevel level) => s_levels[(int)level];
}
