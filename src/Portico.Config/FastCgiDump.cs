using Portico.Config.Model;

namespace Portico.Config;

/// <summary>The FastCGI part of <see cref="ConfigDump"/>.</summary>
internal static class FastCgiDump
{
    public static IEnumerable<KeyValuePair<string, string>> Describe(LocationSettings s)
    {
        FastCgiSettings f = s.FastCgi;
        yield return new("fastcgi_pass", f.Pass is null ? "(none)" : Pass(f.Pass));
        yield return new("fastcgi_param", string.Join(" | ", f.Params.Select(p => $"{p.Name} {ConfigDump.Quote(p.Value.Text)}{(p.IfNotEmpty ? " if_not_empty" : "")}")));
        yield return new("fastcgi_index", f.Index?.Text ?? "(none)");
        yield return new("fastcgi_split_path_info", f.SplitPathInfo?.Text ?? "(none)");
        yield return new("fastcgi_keep_conn", ConfigDump.OnOff(f.KeepConn));
        yield return new("fastcgi_socket_keepalive", ConfigDump.OnOff(f.SocketKeepalive));
        yield return new("fastcgi_connect_timeout", ConfigDump.Time(f.ConnectTimeout));
        yield return new("fastcgi_send_timeout", ConfigDump.Time(f.SendTimeout));
        yield return new("fastcgi_read_timeout", ConfigDump.Time(f.ReadTimeout));
        yield return new("fastcgi_intercept_errors", ConfigDump.OnOff(f.InterceptErrors));
        yield return new("fastcgi_ignore_client_abort", ConfigDump.OnOff(f.IgnoreClientAbort));
        yield return new("fastcgi_ignore_headers", IgnoredHeaders(f.IgnoreHeaders));
        yield return new("fastcgi_pass_request_headers", ConfigDump.OnOff(f.PassRequestHeaders));
        yield return new("fastcgi_pass_request_body", ConfigDump.OnOff(f.PassRequestBody));
        yield return new("fastcgi_hide_header", string.Join(' ', f.HideHeaders));
        yield return new("fastcgi_pass_header", string.Join(' ', f.PassHeaders));
        yield return new("fastcgi_force_ranges", ConfigDump.OnOff(f.ForceRanges));
        yield return new("fastcgi_catch_stderr", string.Join(" | ", f.CatchStderr.Select(ConfigDump.Quote)));
        yield return new("fastcgi_buffering", ConfigDump.OnOff(f.Buffering));
        yield return new("fastcgi_request_buffering", ConfigDump.OnOff(f.RequestBuffering));
        yield return new("fastcgi_buffers", $"{f.BuffersCount} {ConfigDump.Num(f.BuffersSize)}");
        yield return new("fastcgi_buffer_size", ConfigDump.Num(f.BufferSize));
        yield return new("fastcgi_busy_buffers_size", f.BusyBuffersSize is long busy ? ConfigDump.Num(busy) : "(default)");
        yield return new("fastcgi_temp_file_write_size", f.TempFileWriteSize is long write ? ConfigDump.Num(write) : "(default)");
        yield return new("fastcgi_max_temp_file_size", f.MaxTempFileSize is long max ? ConfigDump.Num(max) : "(default)");
        yield return new("fastcgi_temp_path", f.TempPath ?? "(system temporary directory)");
        yield return new("fastcgi_next_upstream", NextUpstream(f.NextUpstream));
        yield return new("fastcgi_next_upstream_tries", ConfigDump.Num(f.NextUpstreamTries));
        yield return new("fastcgi_next_upstream_timeout", ConfigDump.Time(f.NextUpstreamTimeout));
        yield return new("client_body_temp_path", s.ClientBodyTempPath ?? "(system temporary directory)");
    }

    private static string IgnoredHeaders(FastCgiIgnoredHeaders flags) => string.Join(' ', Enum.GetValues<FastCgiIgnoredHeaders>()
        .Where(flag => flag != FastCgiIgnoredHeaders.None && flags.HasFlag(flag))
        .Select(flag => flag switch
        {
            FastCgiIgnoredHeaders.XAccelRedirect => "X-Accel-Redirect",
            FastCgiIgnoredHeaders.XAccelExpires => "X-Accel-Expires",
            FastCgiIgnoredHeaders.XAccelLimitRate => "X-Accel-Limit-Rate",
            FastCgiIgnoredHeaders.XAccelBuffering => "X-Accel-Buffering",
            FastCgiIgnoredHeaders.XAccelCharset => "X-Accel-Charset",
            FastCgiIgnoredHeaders.CacheControl => "Cache-Control",
            FastCgiIgnoredHeaders.SetCookie => "Set-Cookie",
            _ => flag.ToString(),
        }));

    private static string NextUpstream(FastCgiNextUpstream flags)
    {
        if (flags == FastCgiNextUpstream.Off)
        {
            return "off";
        }

        var names = new List<string>();
        foreach (FastCgiNextUpstream flag in Enum.GetValues<FastCgiNextUpstream>())
        {
            if (flag != FastCgiNextUpstream.Off && flags.HasFlag(flag))
            {
                names.Add(flag switch
                {
                    FastCgiNextUpstream.InvalidHeader => "invalid_header",
                    FastCgiNextUpstream.NonIdempotent => "non_idempotent",
                    _ when flag.ToString().StartsWith("Http", StringComparison.Ordinal) => "http_" + flag.ToString()[4..],
                    _ => flag.ToString().ToLowerInvariant(),
                });
            }
        }

        return string.Join(' ', names);
    }

    private static string Pass(FastCgiPassConfig p) =>
        p.Upstream is not null ? "upstream " + p.Upstream
        : p.UnixPath is not null ? "unix " + p.UnixPath
        : p.Host is not null ? $"host {p.Host} port {p.Port}"
        : "variable " + ConfigDump.Quote(p.Target.Text);
}
