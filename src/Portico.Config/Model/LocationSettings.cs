namespace Portico.Config.Model;

/// <summary>
/// Effective settings of an http, server or location level after nginx-style inheritance is
/// merged at load: a value not set at a level is taken from the enclosing level, and list-valued
/// directives (<c>add_header</c>, <c>error_page</c>, <c>access_log</c>, <c>fastcgi_param</c>) are
/// inherited only when the level defines none of its own. Defaults are nginx's.
/// </summary>
public sealed record LocationSettings
{
    // --- files (ngx_http_core_module) ---

    /// <summary><c>root</c>, absolute (relative roots resolve against the prefix). Default <c>PREFIX/html</c>.</summary>
    public required ConfigValue Root { get; init; }

    /// <summary><c>alias</c>; when set it replaces the location's matched part instead of appending to <see cref="Root"/>.</summary>
    public ConfigValue? Alias { get; init; }

    /// <summary><c>index</c> files, in order. Default <c>index.html</c>.</summary>
    public IReadOnlyList<ConfigValue> Index { get; init; } = [];

    public TryFilesConfig? TryFiles { get; init; }

    /// <summary><c>internal</c>: the location only serves internal redirects (external requests get 404).</summary>
    public bool Internal { get; init; }

    public bool Autoindex { get; init; }
    public AutoindexFormat AutoindexFormat { get; init; } = AutoindexFormat.Html;
    public bool AutoindexExactSize { get; init; } = true;
    public bool AutoindexLocaltime { get; init; }

    /// <summary><c>default_type</c>. Default <c>text/plain</c>.</summary>
    public string DefaultType { get; init; } = "text/plain";

    /// <summary><c>types { }</c>: lower-case extension (no dot) to MIME type.</summary>
    public IReadOnlyDictionary<string, string> Types { get; init; } = new Dictionary<string, string>();

    public bool Etag { get; init; } = true;
    public IfModifiedSinceMode IfModifiedSince { get; init; } = IfModifiedSinceMode.Exact;
    public ServerTokens ServerTokens { get; init; } = ServerTokens.On;

    /// <summary><c>merge_slashes</c> (http/server only). Default on.</summary>
    public bool MergeSlashes { get; init; } = true;

    /// <summary><c>client_max_body_size</c> in bytes; 0 disables the check. Default 1m.</summary>
    public long ClientMaxBodySize { get; init; } = 1024 * 1024;

    /// <summary><c>keepalive_timeout</c>. Default 75s.</summary>
    public TimeSpan KeepaliveTimeout { get; init; } = TimeSpan.FromSeconds(75);

    /// <summary><c>send_timeout</c>. Default 60s.</summary>
    public TimeSpan SendTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary><c>client_header_timeout</c>/<c>client_body_timeout</c>. Default 60s.</summary>
    public TimeSpan ClientHeaderTimeout { get; init; } = TimeSpan.FromSeconds(60);
    public TimeSpan ClientBodyTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary><c>sendfile</c>, <c>tcp_nopush</c>, <c>tcp_nodelay</c> are accepted; they tune I/O only.</summary>
    public bool Sendfile { get; init; }

    /// <summary><c>tcp_nopush</c>. Default off. Accepted; Kestrel decides how it writes.</summary>
    public bool TcpNopush { get; init; }

    /// <summary><c>tcp_nodelay</c>. Default on.</summary>
    public bool TcpNodelay { get; init; } = true;

    /// <summary><c>client_body_buffer_size</c> in bytes. Default 16k (nginx on 64-bit platforms).</summary>
    public long ClientBodyBufferSize { get; init; } = 16 * 1024;

    /// <summary><c>client_header_buffer_size</c> in bytes (http/server). Default 1k.</summary>
    public long ClientHeaderBufferSize { get; init; } = 1024;

    /// <summary><c>large_client_header_buffers NUMBER SIZE</c> (http/server). Default 4 8k.</summary>
    public int LargeClientHeaderBuffersCount { get; init; } = 4;

    public long LargeClientHeaderBufferSize { get; init; } = 8 * 1024;

    /// <summary>The optional second argument of <c>keepalive_timeout</c> (the <c>Keep-Alive: timeout=</c> header value).</summary>
    public TimeSpan? KeepaliveHeaderTimeout { get; init; }

    /// <summary><c>keepalive_requests</c>. Default 1000.</summary>
    public int KeepaliveRequests { get; init; } = 1000;

    /// <summary><c>keepalive_time</c>: a connection older than this is closed after the request at hand. Default 1h.</summary>
    public TimeSpan KeepaliveTime { get; init; } = TimeSpan.FromHours(1);

    // --- responses ---

    public IReadOnlyList<ErrorPageConfig> ErrorPages { get; init; } = [];
    public bool RecursiveErrorPages { get; init; }

    /// <summary><c>add_header NAME VALUE [always]</c>.</summary>
    public IReadOnlyList<AddHeaderConfig> AddHeaders { get; init; } = [];

    /// <summary><c>charset</c>: added to a response's Content-Type when its type is one of <see cref="CharsetTypes"/>
    /// and it names no charset of its own; null: <c>off</c>.</summary>
    public string? Charset { get; init; }

    /// <summary><c>charset_types</c>, in lower case: the types besides <c>text/html</c> that <see cref="Charset"/> applies
    /// to (<c>*</c>: any).</summary>
    public IReadOnlyList<string> CharsetTypes { get; init; } = DefaultCharsetTypes;

    /// <summary>nginx's default <c>charset_types</c> (text/html is always in).</summary>
    public static readonly IReadOnlyList<string> DefaultCharsetTypes = ["text/xml", "text/plain", "text/vnd.wap.wml", "application/javascript", "application/rss+xml"];

    /// <summary><c>allow</c>/<c>deny</c> in the order written; empty: everyone.</summary>
    public IReadOnlyList<AccessRuleConfig> Access { get; init; } = [];

    public ExpiresConfig? Expires { get; init; }

    /// <summary><c>log_not_found</c>: log "open() ... failed" for 404s. Default on.</summary>
    public bool LogNotFound { get; init; } = true;

    // --- logging (ngx_http_log_module, error_log) ---

    /// <summary><c>access_log</c> targets. Empty with <see cref="AccessLogOff"/> false means the default (<c>logs/access.log combined</c>).</summary>
    public IReadOnlyList<AccessLogConfig> AccessLogs { get; init; } = [];

    /// <summary><c>access_log off</c> at this level.</summary>
    public bool AccessLogOff { get; init; }

    public IReadOnlyList<ErrorLogConfig> ErrorLogs { get; init; } = [];

    // --- FastCGI (ngx_http_fastcgi_module) ---

    public FastCgiSettings FastCgi { get; init; } = FastCgiSettings.Default;

    // --- compression (ngx_http_gzip_module, ngx_http_gzip_static_module) ---

    public GzipSettings Gzip { get; init; } = GzipSettings.Default;

    /// <summary>
    /// <c>client_body_temp_path</c> (absolute), where a request body larger than <c>client_body_buffer_size</c> is
    /// spilled; levels are accepted and ignored. Null when not set: the system's temporary directory, Portico's
    /// built-in default (as a distribution's nginx has its own, /var/lib/nginx/body on Debian), since PREFIX
    /// (/etc/portico) is no place for temporary files.
    /// </summary>
    public string? ClientBodyTempPath { get; init; }
}

public enum AutoindexFormat
{
    Html,
    Json,
    Xml,
    Jsonp,
}

public enum IfModifiedSinceMode
{
    Off,
    Exact,
    Before,
}

public enum ServerTokens
{
    On,
    Off,
    Build,
}

/// <summary><c>try_files FILE ... URI|=CODE|@name</c>; <see cref="Fallback"/> is the last argument as written.</summary>
public sealed record TryFilesConfig(IReadOnlyList<ConfigValue> Files, ConfigValue Fallback, SourceLocation Where);

/// <summary>
/// <c>error_page CODE ... [=[RESPONSE]] URI</c>. <see cref="Response"/> is null when no <c>=</c> was
/// given (keep the original code), 0 for a bare <c>=</c> (take the code the target produces),
/// otherwise the code to answer with.
/// </summary>
public sealed record ErrorPageConfig(IReadOnlyList<int> Codes, int? Response, ConfigValue Uri, SourceLocation Where);

/// <summary><c>add_header NAME VALUE [always]</c>.</summary>
public sealed record AddHeaderConfig(string Name, ConfigValue Value, bool Always, SourceLocation Where);

/// <summary>
/// <c>expires [modified] TIME | epoch | max | off</c>; TIME may be negative or <c>@HH:MM</c> (daily).
/// https://nginx.org/en/docs/http/ngx_http_headers_module.html#expires
/// </summary>
public sealed record ExpiresConfig(ExpiresMode Mode, TimeSpan Time, SourceLocation Where);

public enum ExpiresMode
{
    Off,
    Epoch,
    Max,

    /// <summary>Relative to the time of the request.</summary>
    Access,

    /// <summary><c>modified TIME</c>: relative to the file's modification time.</summary>
    Modified,

    /// <summary><c>@HH:MM</c>: next occurrence of that time of day.</summary>
    Daily,
}

/// <summary>
/// <c>access_log PATH [FORMAT [buffer=SIZE] [gzip[=LEVEL]] [flush=TIME] [if=CONDITION]]</c>.
/// <see cref="Path"/> is absolute or <c>stdout</c>/<c>stderr</c>, and may hold variables.
/// </summary>
public sealed record AccessLogConfig(
    ConfigValue Path,
    string Format,
    int BufferSize,
    TimeSpan? Flush,
    ConfigValue? Condition,
    SourceLocation Where)
{
    /// <summary><c>gzip[=LEVEL]</c>: the compression level (1-9), null when not given.</summary>
    public int? GzipLevel { get; init; }
}
