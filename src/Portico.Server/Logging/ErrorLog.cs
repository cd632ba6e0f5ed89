using System.Buffers;
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
        var sb = new StringBuilder(256);
        sb.Append(_clock.Now().ErrorLogTime);
        sb.Append(" [").Append(s_levels[(int)level]).Append("] ");
        sb.Append(Environment.ProcessId.ToString(CultureInfo.InvariantCulture)).Append('#')
          .Append(Environment.CurrentManagedThreadId.ToString(CultureInfo.InvariantCulture)).Append(": ");
        if (ctx is not null)
        {
            sb.Append('*').Append(ctx.ConnectionSerial.ToString(CultureInfo.InvariantCulture)).Append(' ');
        }

        sb.Append(message);
        if (ctx is not null)
        {
            var http = ctx.Http;
            sb.Append(", client: ").Append(VariableText(ctx, "remote_addr"));
            sb.Append(", server: ").Append(ctx.Server.PrimaryName);
            if (VariableText(ctx, "request") is { } request)
            {
                sb.Append(", request: \"").Append(request).Append('"');
            }

            if (upstream is not null)
            {
                sb.Append(", upstream: \"").Append(upstream).Append('"');
            }

            // nginx prints the Host header as sent (not $host), and the referrer when there is one.
            if (http.Request.Headers.Host is { Count: > 0 } host)
            {
                sb.Append(", host: \"").Append(host[0]).Append('"');
            }

            if (http.Request.Headers.Referer is { Count: > 0 } referer)
            {
                sb.Append(", referrer: \"").Append(referer[0]).Append('"');
            }
        }

        // One entry is one line: a message with a newline (an exception text) would split it for
        // every line-based reader, so control characters are escaped (nginx never emits them).
        var text = sb.ToString();
        if (text.AsSpan().ContainsAny(s_controls))
        {
            text = EscapeControls(text);
        }

        var line = new byte[Encoding.UTF8.GetByteCount(text) + 1];
        Encoding.UTF8.GetBytes(text, line);
        line[^1] = (byte)'\n';
        return line;
    }

    // C0 controls but the tab.
    private static readonly SearchValues<char> s_controls = SearchValues.Create(
        "\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u000A\u000B\u000C\u000D\u000E\u000F" +
        "\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001A\u001B\u001C\u001D\u001E\u001F");

    private static string EscapeControls(string text)
    {
        var escaped = new StringBuilder(text.Length + 16);
        foreach (var c in text)
        {
            if (c < 0x20 && c != '\t')
            {
                escaped.Append("\\x").Append(((int)c).ToString("X2", CultureInfo.InvariantCulture));
            }
            else
            {
                escaped.Append(c);
            }
        }

        return escaped.ToString();
    }

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
