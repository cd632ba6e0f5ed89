using Portico.Config.Model;

namespace Portico.Config.Directives;

/// <summary>
/// Mutable state of the blocks being bound (main, http, server, location, upstream);
/// <see cref="ModelBuilder"/> turns it into the immutable model once binding succeeded.
/// </summary>
internal sealed class MainBuilder
{
    public HashSet<string> Seen { get; } = new(StringComparer.Ordinal);
    public string? PidFile { get; set; }

    public int? WorkerProcesses { get; set; }

    public bool WorkerProcessesAuto { get; set; }
    public List<ErrorLogConfig> ErrorLogs { get; } = [];
    public HttpBuilder? Http { get; set; }
}

internal sealed class HttpBuilder
{
    public LevelSettings Settings { get; } = new();

    /// <summary>The http block's closing brace: where nginx reports what its merge of the levels finds wrong.</summary>
    public SourceLocation End { get; set; }
    public Dictionary<string, LogFormatConfig> LogFormats { get; } = new(StringComparer.Ordinal);
    public Dictionary<string, UpstreamBuilder> Upstreams { get; } = new(StringComparer.Ordinal);
    public List<ServerBuilder> Servers { get; } = [];

    /// <summary>Listen sockets seen so far (nginx's text, e.g. <c>0.0.0.0:80</c>) and whether one server claimed default.</summary>
    public Dictionary<string, bool> DefaultServers { get; } = new(StringComparer.Ordinal);

    /// <summary>Sockets whose options (bind, backlog, reuseport, ipv6only) some server already set.</summary>
    public HashSet<string> SocketsWithOptions { get; } = new(StringComparer.Ordinal);
}

internal sealed class ServerBuilder(SourceLocation where)
{
    public SourceLocation Where { get; } = where;
    public LevelSettings Settings { get; } = new();
    public List<ListenConfig> Listens { get; } = [];
    public List<ServerNameConfig> Names { get; } = [];
    public List<RewriteInstruction> Rewrites { get; } = [];
    public List<LocationBuilder> Locations { get; } = [];
}

internal sealed class LocationBuilder
{
    public required LocationMatch Match { get; init; }
    public required string Pattern { get; init; }
    public required SourceLocation Where { get; init; }
    public LevelSettings Settings { get; } = new();
    public List<RewriteInstruction> Rewrites { get; } = [];
    public List<LocationBuilder> Locations { get; } = [];
}

internal sealed class UpstreamBuilder
{
    public required string Name { get; init; }
    public required SourceLocation Where { get; init; }
    public HashSet<string> Seen { get; } = new(StringComparer.Ordinal);
    public List<UpstreamServerConfig> Servers { get; } = [];
    public UpstreamBalancing Balancing { get; set; } = UpstreamBalancing.RoundRobin;
    public ConfigValue? HashKey { get; set; }
    public bool HashConsistent { get; set; }
    public int Keepalive { get; set; }
    public TimeSpan KeepaliveTimeout { get; set; } = TimeSpan.FromSeconds(60);
    public int KeepaliveRequests { get; set; } = 1000;
}
