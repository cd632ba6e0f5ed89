namespace Portico.Config.Model;

/// <summary>
/// The whole validated configuration: the main context plus the <c>http</c> block.
/// Immutable; a reload builds a new one and the runtime swaps one reference.
/// </summary>
public sealed class PorticoConfig
{
    /// <summary>Absolute path of the main config file ("" for the built-in zero-config).</summary>
    public required string FilePath { get; init; }

    /// <summary>The prefix (<c>-p</c>); relative paths in the config resolve against it.</summary>
    public required string Prefix { get; init; }

    /// <summary>Absolute path for the pid file, or null when <c>pid off</c>/unset.</summary>
    public string? PidFile { get; init; }

    /// <summary><c>worker_processes N</c>: event-loop threads; null for <c>auto</c> or unset (one per CPU).
    /// nginx's default is 1, but its workers are processes; ours are threads of one process, so "auto" is the
    /// default that keeps every core busy.</summary>
    public int? WorkerProcesses { get; init; }

    /// <summary>True for <c>worker_processes auto</c> (or 0); false when the directive is absent, which for nginx
    /// means one worker (upstream <c>keepalive</c> counts per worker: see Portico.Server's EventLoop.Workers).</summary>
    public bool WorkerProcessesAuto { get; init; }

    /// <summary>Main-context <c>error_log</c> targets (absolute paths, or "stderr").</summary>
    public required IReadOnlyList<ErrorLogConfig> ErrorLogs { get; init; }

    /// <summary>The <c>http</c> block, or null when the file has none (nothing is served).</summary>
    public HttpConfig? Http { get; init; }
}

/// <summary><c>error_log FILE [LEVEL]</c>. File is absolute, or "stderr"/"stdout".</summary>
public sealed record ErrorLogConfig(string File, LogLevel Level, SourceLocation Where);
