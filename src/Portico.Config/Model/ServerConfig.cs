namespace Portico.Config.Model;

/// <summary>A <c>server { }</c> block.</summary>
public sealed class ServerConfig
{
    public required IReadOnlyList<ListenConfig> Listens { get; init; }

    /// <summary>Names in file order; the first is the primary name (<c>$server_name</c>). Empty list = <c>""</c>.</summary>
    public required IReadOnlyList<ServerNameConfig> Names { get; init; }

    /// <summary>Rewrite-module instructions at server level; they run before the location is found.</summary>
    public required IReadOnlyList<RewriteInstruction> Rewrites { get; init; }

    /// <summary>Top-level locations in file order (named locations included).</summary>
    public required IReadOnlyList<LocationConfig> Locations { get; init; }

    /// <summary>Effective server-level settings: used when no location matches, and inherited by locations.</summary>
    public required LocationSettings Settings { get; init; }

    public required SourceLocation Where { get; init; }

    /// <summary>The primary name, as <c>$server_name</c> gives it.</summary>
    public string PrimaryName => Names.Count == 0 ? "" : Names[0].Kind == ServerNameKind.Regex ? "~" + Names[0].Text : Names[0].Text;
}

/// <summary>
/// One <c>listen</c>. <see cref="Address"/> is null for the wildcard (<c>80</c>, <c>*:80</c>);
/// IPv6 addresses are stored without brackets. <see cref="UnixPath"/> is set for <c>unix:/path</c>.
/// </summary>
public sealed record ListenConfig(
    string? Address,
    int Port,
    bool DefaultServer,
    SourceLocation Where)
{
    public string? UnixPath { get; init; }
    public bool Ssl { get; init; }
    public bool Http2 { get; init; }
    public bool ReusePort { get; init; }
    public int Backlog { get; init; } = 511;
    public bool? Ipv6Only { get; init; }

    /// <summary><c>bind</c>: this address gets its own socket even when a wildcard on the port exists.</summary>
    public bool Bind { get; init; }

    /// <summary>The canonical text nginx uses for this endpoint, e.g. <c>127.0.0.1:8080</c>, <c>[::1]:80</c>, <c>*:80</c>.</summary>
    public string EndpointText => UnixPath is not null
        ? "unix:" + UnixPath
        : Address is null ? $"*:{Port}" : Address.Contains(':', StringComparison.Ordinal) ? $"[{Address}]:{Port}" : $"{Address}:{Port}";
}

public enum ServerNameKind
{
    /// <summary><c>example.com</c>, and <c>""</c> (matches a request without Host).</summary>
    Exact,

    /// <summary><c>*.example.com</c>; <c>.example.com</c> is stored as two names: exact <c>example.com</c> and this.</summary>
    WildcardPrefix,

    /// <summary><c>www.example.*</c></summary>
    WildcardSuffix,

    /// <summary>
    /// <c>~^(?&lt;sub&gt;.+)\.example\.com$</c>; <see cref="ServerNameConfig.Text"/> holds the pattern without <c>~</c>,
    /// already translated to .NET syntax (<c>(?P&lt;n&gt;</c> becomes <c>(?&lt;n&gt;</c>). nginx matches it case-insensitively.
    /// </summary>
    Regex,
}

/// <summary>
/// One <c>server_name</c>. Exact and wildcard names are stored lower-cased; for wildcards
/// <see cref="Text"/> is the written form (<c>*.example.com</c>, <c>www.example.*</c>).
/// </summary>
public sealed record ServerNameConfig(string Text, ServerNameKind Kind, SourceLocation Where);
