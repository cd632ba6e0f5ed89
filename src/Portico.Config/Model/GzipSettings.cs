namespace Portico.Config.Model;

/// <summary>
/// ngx_http_gzip_module, ngx_http_gzip_static_module and the core module's gzip_* directives of a level
/// (https://nginx.org/en/docs/http/ngx_http_gzip_module.html, ngx_http_gzip_static_module.html). Defaults are nginx's.
/// </summary>
public sealed record GzipSettings
{
    public static GzipSettings Default { get; } = new();

    /// <summary><c>gzip</c>: compress responses on the fly.</summary>
    public bool Enabled { get; init; }

    /// <summary><c>gzip_comp_level</c>, 1-9.</summary>
    public int CompLevel { get; init; } = 1;

    /// <summary><c>gzip_min_length</c>: a response whose Content-Length is below it is sent as it is.</summary>
    public long MinLength { get; init; } = 20;

    /// <summary><c>gzip_types</c> in lower case, besides <c>text/html</c> (always in); null: <c>*</c>, any type.</summary>
    public IReadOnlyList<string>? Types { get; init; } = [];

    /// <summary><c>gzip_buffers NUMBER SIZE</c>: checked and kept; Portico's compressor writes into the response's
    /// own buffers.</summary>
    public int BuffersCount { get; init; } = 32;

    public long BuffersSize { get; init; } = 4096;

    /// <summary><c>gzip_http_version 1.0|1.1</c>: the lowest request version that gets a compressed response.</summary>
    public bool Http10 { get; init; }

    /// <summary><c>gzip_vary</c>: <c>Vary: Accept-Encoding</c> on every response gzip or gzip_static considered.</summary>
    public bool Vary { get; init; }

    /// <summary><c>gzip_proxied</c>: which responses to requests that came through a proxy (a <c>Via</c> header) may be
    /// compressed.</summary>
    public GzipProxied Proxied { get; init; } = GzipProxied.Off;

    /// <summary><c>gzip_disable msie6</c>.</summary>
    public bool DisableMsie6 { get; init; }

    /// <summary><c>gzip_disable REGEX...</c>: .NET-compatible patterns, matched case-insensitively against
    /// <c>User-Agent</c>.</summary>
    public IReadOnlyList<string> DisableRegexes { get; init; } = [];

    /// <summary><c>gzip_static</c>.</summary>
    public GzipStaticMode Static { get; init; } = GzipStaticMode.Off;
}

/// <summary><c>gzip_proxied</c>'s parameters (ngx_http_gzip_proxied_mask).</summary>
[Flags]
public enum GzipProxied
{
    None = 0,
    Off = 1 << 0,
    Expired = 1 << 1,
    NoCache = 1 << 2,
    NoStore = 1 << 3,
    Private = 1 << 4,
    NoLastModified = 1 << 5,
    NoEtag = 1 << 6,
    Auth = 1 << 7,
    Any = 1 << 8,
}

/// <summary><c>gzip_static off|on|always</c>.</summary>
public enum GzipStaticMode
{
    Off,
    On,
    Always,
}
