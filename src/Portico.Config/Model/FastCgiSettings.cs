namespace Portico.Config.Model;

/// <summary>
/// ngx_http_fastcgi_module settings of a level (https://nginx.org/en/docs/http/ngx_http_fastcgi_module.html).
/// Merged like the other settings, except <see cref="Pass"/>, which as in nginx belongs to the
/// location that has it and is not inherited by nested locations.
/// </summary>
public sealed record FastCgiSettings
{
    public static FastCgiSettings Default { get; } = new();

    /// <summary><c>fastcgi_pass</c>; null when this location does not pass to FastCGI.</summary>
    public FastCgiPassConfig? Pass { get; init; }

    /// <summary><c>fastcgi_param NAME VALUE [if_not_empty]</c>, in order (a list directive: inherited only when the level has none).</summary>
    public IReadOnlyList<FastCgiParamConfig> Params { get; init; } = [];

    /// <summary><c>fastcgi_index</c>: appended to a <c>$fastcgi_script_name</c> ending in <c>/</c>.</summary>
    public ConfigValue? Index { get; init; }

    /// <summary><c>fastcgi_split_path_info</c>: a .NET-compatible regex with two captures (script name, path info).</summary>
    public ConfigValue? SplitPathInfo { get; init; }

    public bool KeepConn { get; init; }

    /// <summary><c>fastcgi_socket_keepalive</c>: SO_KEEPALIVE on the connections to the backend.</summary>
    public bool SocketKeepalive { get; init; }
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(60);
    public TimeSpan SendTimeout { get; init; } = TimeSpan.FromSeconds(60);
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromSeconds(60);
    public bool InterceptErrors { get; init; }

    /// <summary><c>fastcgi_ignore_client_abort</c>: when on, a client that closes its side keeps the backend's
    /// request going (and gets the response if it still reads).</summary>
    public bool IgnoreClientAbort { get; init; }

    /// <summary><c>fastcgi_ignore_headers</c>: response header fields from the backend whose processing is off.</summary>
    public FastCgiIgnoredHeaders IgnoreHeaders { get; init; }

    /// <summary><c>fastcgi_pass_request_headers</c>: the request's header fields as <c>HTTP_*</c> params.</summary>
    public bool PassRequestHeaders { get; init; } = true;

    /// <summary><c>fastcgi_pass_request_body</c>: when off the body is still read (and <c>client_max_body_size</c>
    /// applies), but the backend gets an empty STDIN.</summary>
    public bool PassRequestBody { get; init; } = true;

    /// <summary><c>fastcgi_hide_header</c>: extra response headers not passed to the client.</summary>
    public IReadOnlyList<string> HideHeaders { get; init; } = [];

    /// <summary><c>fastcgi_force_ranges</c>: byte ranges of a 200 response with a Content-Length, one range at most, as
    /// nginx's range filter serves them (the backend's own Accept-Ranges is dropped then).</summary>
    public bool ForceRanges { get; init; }

    /// <summary><c>fastcgi_catch_stderr</c>: strings that, found in the backend's error stream before its response
    /// header is complete, make the response invalid (502; <c>fastcgi_next_upstream invalid_header</c> retries). After
    /// the header, as in nginx, the error stream is only logged.</summary>
    public IReadOnlyList<string> CatchStderr { get; init; } = [];

    /// <summary><c>fastcgi_pass_header</c>: headers nginx hides by default (e.g. <c>X-Accel-*</c>) that should be passed.</summary>
    public IReadOnlyList<string> PassHeaders { get; init; } = [];

    public bool Buffering { get; init; } = true;
    public bool RequestBuffering { get; init; } = true;

    /// <summary><c>fastcgi_buffers NUMBER SIZE</c>. Default 8 4k (one memory page).</summary>
    public int BuffersCount { get; init; } = 8;
    public long BuffersSize { get; init; } = 4096;

    /// <summary><c>fastcgi_busy_buffers_size</c>; null: twice the larger of <see cref="BufferSize"/> and <see cref="BuffersSize"/>.
    /// Checked as nginx checks it; Portico streams responses, so it sizes nothing.</summary>
    public long? BusyBuffersSize { get; init; }

    /// <summary><c>fastcgi_temp_file_write_size</c>; null: as <see cref="BusyBuffersSize"/>. Checked as nginx checks it;
    /// Portico writes its temp file as the backend's output comes, so it sizes nothing.</summary>
    public long? TempFileWriteSize { get; init; }

    /// <summary><c>fastcgi_max_temp_file_size</c>; null: 1024m (<see cref="MaxTempFileSizeOrDefault"/>). With
    /// buffering on, how much of a response a client is slower to take than the backend gives may wait in a temp
    /// file, so the backend is free at once; 0: none (the backend waits for the client).</summary>
    public long? MaxTempFileSize { get; init; }

    /// <summary><see cref="MaxTempFileSize"/>, its default applied.</summary>
    public long MaxTempFileSizeOrDefault => MaxTempFileSize ?? DefaultMaxTempFileSize;

    /// <summary>nginx's default <c>fastcgi_max_temp_file_size</c>, 1024m.</summary>
    public const long DefaultMaxTempFileSize = 1024L * 1024 * 1024;

    /// <summary><c>fastcgi_temp_path</c> (absolute), where a buffered response's temp file goes; null: the system's
    /// temporary directory. Levels are accepted and checked, not used: the file has no name once open.</summary>
    public string? TempPath { get; init; }

    /// <summary><c>fastcgi_buffer_size</c>. Default 4k.</summary>
    public long BufferSize { get; init; } = 4096;

    /// <summary><c>fastcgi_next_upstream</c>. Default <c>error timeout</c>.</summary>
    public FastCgiNextUpstream NextUpstream { get; init; } = FastCgiNextUpstream.Error | FastCgiNextUpstream.Timeout;

    /// <summary><c>fastcgi_next_upstream_tries</c>; 0 = unlimited.</summary>
    public int NextUpstreamTries { get; init; }

    /// <summary><c>fastcgi_next_upstream_timeout</c>; zero = unlimited.</summary>
    public TimeSpan NextUpstreamTimeout { get; init; }
}

/// <summary>
/// <c>fastcgi_pass ADDRESS</c>. Exactly one of <see cref="Upstream"/>, <see cref="UnixPath"/>,
/// <see cref="Host"/> is set when <see cref="Target"/> has no variables; with variables the
/// runtime evaluates <see cref="Target"/> per request.
/// </summary>
public sealed record FastCgiPassConfig(ConfigValue Target, SourceLocation Where)
{
    /// <summary>The name of an <c>upstream { }</c> block.</summary>
    public string? Upstream { get; init; }

    public string? UnixPath { get; init; }

    /// <summary>Host name or address (IPv6 without brackets) with <see cref="Port"/>.</summary>
    public string? Host { get; init; }

    public int Port { get; init; }
}

/// <summary><c>fastcgi_param NAME VALUE [if_not_empty]</c>.</summary>
public sealed record FastCgiParamConfig(string Name, ConfigValue Value, bool IfNotEmpty, SourceLocation Where);

/// <summary>The conditions of <c>fastcgi_next_upstream</c>.</summary>
[Flags]
public enum FastCgiNextUpstream
{
    Off = 0,
    Error = 1,
    Timeout = 2,
    InvalidHeader = 4,
    Http500 = 8,
    Http503 = 16,
    Http403 = 32,
    Http404 = 64,
    Http429 = 128,
    NonIdempotent = 256,
}

/// <summary>
/// The fields <c>fastcgi_ignore_headers</c> can name. Portico acts on <c>X-Accel-Redirect</c> and
/// <c>X-Accel-Buffering</c>; the others drive nginx's cache, rate limit and charset, which Portico does not have,
/// so ignoring them changes nothing.
/// </summary>
[Flags]
public enum FastCgiIgnoredHeaders
{
    None = 0,
    XAccelRedirect = 1,
    XAccelExpires = 2,
    XAccelLimitRate = 4,
    XAccelBuffering = 8,
    XAccelCharset = 16,
    Expires = 32,
    CacheControl = 64,
    SetCookie = 128,
    Vary = 256,
}
