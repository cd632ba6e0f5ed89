namespace Portico.Config.Model;

/// <summary>The <c>http { }</c> block after inheritance is merged.</summary>
public sealed class HttpConfig
{
    /// <summary>Servers in file order. Every server has at least one listen (nginx's default <c>*:80</c>, <c>*:8000</c> when not root).</summary>
    public required IReadOnlyList<ServerConfig> Servers { get; init; }

    /// <summary><c>log_format</c> definitions by name, including the predefined <c>combined</c>.</summary>
    public required IReadOnlyDictionary<string, LogFormatConfig> LogFormats { get; init; }

    /// <summary><c>upstream NAME { }</c> blocks by name.</summary>
    public required IReadOnlyDictionary<string, UpstreamConfig> Upstreams { get; init; }

    /// <summary>Effective http-level settings (what a server inherits).</summary>
    public required LocationSettings Settings { get; init; }
}

/// <summary><c>log_format NAME [escape=...] STRING...</c>; the strings are concatenated as nginx does.</summary>
public sealed record LogFormatConfig(string Name, LogEscape Escape, ConfigValue Format);

public enum LogEscape
{
    Default,
    Json,
    None,
}

/// <summary><c>upstream NAME { server ...; keepalive N; least_conn; ... }</c></summary>
public sealed class UpstreamConfig
{
    public required string Name { get; init; }
    public required IReadOnlyList<UpstreamServerConfig> Servers { get; init; }
    public UpstreamBalancing Balancing { get; init; } = UpstreamBalancing.RoundRobin;

    /// <summary>The key for <c>hash KEY [consistent]</c>.</summary>
    public ConfigValue? HashKey { get; init; }
    public bool HashConsistent { get; init; }

    /// <summary><c>keepalive N</c>: kept-alive idle connections per worker; 0 = none kept.</summary>
    public int Keepalive { get; init; }
    public TimeSpan KeepaliveTimeout { get; init; } = TimeSpan.FromSeconds(60);
    public int KeepaliveRequests { get; init; } = 1000;
    public required SourceLocation Where { get; init; }
}

public enum UpstreamBalancing
{
    RoundRobin,
    LeastConn,
    IpHash,
    Hash,
}

/// <summary><c>server ADDRESS [weight=N] [max_fails=N] [fail_timeout=T] [backup] [down]</c> inside an upstream.</summary>
public sealed record UpstreamServerConfig(
    string Address,
    int Weight,
    int MaxFails,
    TimeSpan FailTimeout,
    bool Backup,
    bool Down,
    SourceLocation Where);
