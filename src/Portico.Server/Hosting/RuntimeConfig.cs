using Portico.Config;
using Portico.Config.Model;
using Portico.Server.Logging;
using Portico.Server.Phases;
using Portico.Server.Routing;
using Portico.Server.Static;
using Portico.Server.Variables;

namespace Portico.Server.Hosting;

/// <summary>
/// One immutable, compiled config snapshot: virtual servers with their location trees,
/// compiled values, the open-file cache and the logs. Built (and fully validated) before it
/// replaces the running one.
/// </summary>
internal sealed class RuntimeConfig : IAsyncDisposable
{
    private RuntimeConfig(PorticoConfig config, VirtualServerTable servers, RuntimeServer fallback, OpenFileCache files, LogManager logs)
    {
        Config = config;
        Servers = servers;
        FallbackServer = fallback;
        Files = files;
        Logs = logs;
    }

    public PorticoConfig Config { get; }

    public VirtualServerTable Servers { get; }

    /// <summary>Used if a connection arrives on an endpoint no table knows (should not happen).</summary>
    public RuntimeServer FallbackServer { get; }

    public OpenFileCache Files { get; }

    public StaticFileResponder FileResponder { get; } = new();

    public required AutoindexResponder Autoindex { get; init; }

    /// <summary>Upstream groups, connection pools and compiled fastcgi settings of this snapshot.</summary>
    public required Portico.Server.FastCgi.FastCgiRuntime FastCgi { get; init; }

    /// <summary>The process's logs (shared across snapshots; a snapshot's Build loads its log config).</summary>
    public LogManager Logs { get; }

    /// <summary>
    /// Compiles a validated config. Throws <see cref="ConfigException"/> with file:line. The
    /// logs are loaded last, so a failure anywhere leaves the running logs untouched.
    /// <paramref name="requiredBindings"/> (for a reload) refuses a config whose sockets differ.
    /// </summary>
    public static RuntimeConfig Build(PorticoConfig config, TimeProvider time, LogManager logs, IReadOnlyList<ListenBinding>? requiredBindings = null)
    {
        var http = config.Http ?? throw new ConfigException("no \"http\" section in configuration", null);
        if (http.Servers.Count == 0)
        {
            throw new ConfigException("no \"server\" section in \"http\" context", null);
        }

        foreach (var server in http.Servers)
        {
            foreach (var listen in server.Listens)
            {
                if (listen.Ssl)
                {
                    throw new ConfigException("the \"ssl\" parameter of the \"listen\" directive is not supported by portico yet", listen.Where);
                }
            }
        }

        var scope = VariableScopeBuilder.FromConfig(http).WithTimeProvider(time);
        var compiler = new SettingsCompiler(scope);
        var servers = http.Servers.Select(s => new RuntimeServer(s, compiler)).ToList();
        var table = VirtualServerTable.Build(servers);
        if (requiredBindings is not null)
        {
            var before = string.Join(",", requiredBindings.Select(b => b.Text).Order(StringComparer.Ordinal));
            var after = string.Join(",", table.Bindings.Select(b => b.Text).Order(StringComparer.Ordinal));
            if (before != after)
            {
                throw new ConfigException($"reload cannot change listening sockets yet (running: {before}; new: {after}), restart instead", null);
            }
        }

        var fastCgi = Portico.Server.FastCgi.FastCgiRuntime.Build(http, scope, time);
        logs.Load(config, scope);
        return new RuntimeConfig(config, table, servers[0], new OpenFileCache(time), logs) { Autoindex = new AutoindexResponder(time), FastCgi = fastCgi, UsesGzip = compiler.UsesGzip };
    }

    /// <summary>Some level has <c>gzip</c> or <c>gzip_static</c> on: responses are written through the compressing body
    /// (<see cref="Compression.GzipResponseBody"/>), which passes everything through where gzip is off.</summary>
    public bool UsesGzip { get; init; }

    /// <summary>The logs outlive snapshots; the host disposes them once at exit.</summary>
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
