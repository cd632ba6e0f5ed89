using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Portico.Config;
using Portico.Config.Model;
using Portico.Server.Logging;
using Portico.Server.Phases;
using Portico.Server.Routing;

namespace Portico.Server.Hosting;

/// <summary>
/// Runs one Portico instance: Kestrel bound to every listen of the config, one terminal
/// request delegate, and the config snapshot it reads. Used by the command line and in-process
/// by the functional tests.
/// </summary>
public sealed class PorticoHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConfigSnapshotHolder _snapshots;
    private readonly string? _pidFile;
    private readonly LogManager _logs;
    private int _stopped;

    // Kestrel's keep-alive timeout, fixed at start (Kestrel reads its limits once).
    private TimeSpan _transportIdleTimeout;

    private PorticoHost(WebApplication app, ConfigSnapshotHolder snapshots, string? pidFile, LogManager logs)
    {
        _app = app;
        _snapshots = snapshots;
        _pidFile = pidFile;
        _logs = logs;
    }

    /// <summary>Writes a line to the current error log (nginx's format).</summary>
    public void LogError(LogLevel level, string message) => _logs.ErrorLog.Write(level, message);

    /// <summary>The endpoints actually bound (with real ports when the config asked for port 0).</summary>
    public IReadOnlyList<string> Addresses { get; private set; } = [];

    /// <summary>
    /// Compiles the config, binds every listener, then writes the pid file (only once every
    /// socket is bound, so tools that wait for it can connect at once).
    /// Throws <see cref="ConfigException"/> for config errors and bind failures.
    /// </summary>
    public static async Task<PorticoHost> StartAsync(PorticoConfig config, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        time ??= Transport.LoopTimeProvider.Instance;
        var logs = new LogManager(config.Prefix, time);
        RuntimeConfig snapshot;
        try
        {
            snapshot = RuntimeConfig.Build(config, time, logs);
        }
        catch
        {
            await logs.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        var holder = new ConfigSnapshotHolder(snapshot);
        Transport.LoopFailures.Sink = message => holder.Current.Logs.ErrorLog.Write(Portico.Config.LogLevel.Alert, message);
        var pipeline = new RequestPipeline(holder);
        var rejected = new RejectedRequestLog(holder);
        var http = config.Http!.Settings;

        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions { Args = [] });
        builder.WebHost.UseKestrelCore();
        if (EventLoop.Loops is { } loops)
        {
            // Portico's own event loops (Linux, the binary): Kestrel takes the last transport that can bind.
            builder.Services.AddSingleton<Microsoft.AspNetCore.Connections.IConnectionListenerFactory>(services =>
                new Transport.LoopTransportFactory(loops, ListenSockets(snapshot.Servers.Bindings), services.GetRequiredService<Microsoft.AspNetCore.Connections.IMemoryPoolFactory<byte>>()));
        }
        else
        {
            builder.WebHost.UseSockets(sockets =>
            {
                sockets.Backlog = 511;

                // Application code runs on the thread that completed the socket operation: the runtime's epoll
                // thread when EventLoop.Configure ran (PORTICO_TRANSPORT=sockets), a thread-pool thread otherwise.
                sockets.UnsafePreferInlineScheduling = true;
                sockets.IOQueueCount = 0;
                sockets.CreateBoundListenSocket = endpoint => ListenSockets(snapshot.Servers.Bindings).Bind(endpoint);
            });
        }

        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.AllowSynchronousIO = false;

            // nginx passes header bytes through; Latin-1 maps each byte to one char and back, so
            // a backend's non-ASCII header value (e.g. a UTF-8 filename) leaves as it came.
            kestrel.ResponseHeaderEncodingSelector = _ => System.Text.Encoding.Latin1;
            var limits = kestrel.Limits;

            // client_max_body_size is enforced per location by the pipeline.
            limits.MaxRequestBodySize = null;
            // keepalive_timeout: Kestrel has one for all connections. On Portico's loops it is the config's longest, and a
            // request whose location has a shorter one closes its connection sooner (ClientConnection.CloseWhenIdleFor).
            limits.KeepAliveTimeout = TransportIdleTimeout(config.Http!);
            limits.RequestHeadersTimeout = http.ClientHeaderTimeout;

            // large_client_header_buffers NUMBER SIZE (default 4 8k): a request line longer than one buffer is a 414,
            // and the headers take at most all of them. Kestrel's limits are one for all servers: the largest any
            // server allows, so none refuses what its config accepts. Set at start; a reload keeps them.
            var (lineLimit, headersLimit) = HeaderLimits(config.Http!);
            limits.MaxRequestLineSize = lineLimit;
            limits.MaxRequestHeadersTotalSize = headersLimit;
            limits.MaxRequestHeaderCount = 200;

            // Let a whole cached file (up to 1 MB) go to the socket without waiting for the pipe
            // to drain at the 64 KB default; memory per connection stays bounded by it.
            limits.MaxResponseBufferSize = 1024 * 1024;
            if (EventLoop.Loops is not null)
            {
                // nginx has no minimum data rates: a client is cut when it takes nothing for send_timeout, which
                // Portico's loops enforce (LoopOutputWriter). Kestrel's rate rule (240 bytes/s after 5 s, with every
                // byte written adding to the allowance) is then only bookkeeping on every flush; it stays on Kestrel's
                // socket transport, which has no send_timeout.
                limits.MinResponseDataRate = null;

                // Likewise a request body: client_body_timeout between two reads (ClientBodyTimeoutStream), where
                // Kestrel's average rate let a client that sent a burst stall for an hour, and cut a steady trickle
                // nginx serves. An unread body Kestrel drains after the response keeps its own 5 s drain limit.
                limits.MinRequestBodyDataRate = null;
            }
            foreach (var binding in snapshot.Servers.Bindings)
            {
                if (binding.UnixPath is not null)
                {
                    DeleteStaleSocket(binding.UnixPath);
                    kestrel.ListenUnixSocket(binding.UnixPath, listen => Configure(listen, rejected, limits.KeepAliveTimeout, http.KeepaliveTimeout));
                }
                else
                {
                    kestrel.Listen(binding.EndPoint!, listen => Configure(listen, rejected, limits.KeepAliveTimeout, http.KeepaliveTimeout));
                }
            }
        });
        builder.Services.Configure<HostOptions>(options => options.ShutdownTimeout = TimeSpan.FromSeconds(30));

        // Requests Kestrel rejects before the delegate runs still get their access-log line.
        builder.Services.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(rejected);
        builder.Services.Configure<Microsoft.Extensions.Logging.LoggerFilterOptions>(o => o.MinLevel = Microsoft.Extensions.Logging.LogLevel.Debug);
        var app = builder.Build();
        app.Run(pipeline.HandleAsync);
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            await app.DisposeAsync().ConfigureAwait(false);
            await logs.DisposeAsync().ConfigureAwait(false);
            throw new ConfigException(DescribeBindFailure(ex, snapshot.Servers.Bindings), null, ex);
        }

        var host = new PorticoHost(app, holder, config.PidFile, logs) { _transportIdleTimeout = TransportIdleTimeout(config.Http!) };
        host.Addresses = app.Urls.ToList();
        if (config.PidFile is not null)
        {
            PidFile.Write(config.PidFile);
        }

        return host;
    }

    /// <summary>
    /// Reload: compile the new config completely, then swap the snapshot; requests in flight
    /// finish on the old one. Any error leaves the running config untouched (nginx keeps the old
    /// workers). Listening sockets cannot change yet: a config whose sockets differ is refused.
    /// </summary>
    public Task ReloadAsync(PorticoConfig config, TimeProvider? time = null)
    {
        var next = RuntimeConfig.Build(config, time ?? Transport.LoopTimeProvider.Instance, _logs, _snapshots.Current.Servers.Bindings);
        _snapshots.Swap(next);
        if (EventLoop.Threads > 0 && (config.WorkerProcesses ?? Environment.ProcessorCount) != EventLoop.Threads)
        {
            // The runtime fixes its event-loop threads at the first socket; nginx would start new workers.
            next.Logs.ErrorLog.Write(Portico.Config.LogLevel.Notice, $"worker_processes change takes effect after a restart (event-loop threads now: {EventLoop.Threads})");
        }

        if (TransportIdleTimeout(config.Http!) > _transportIdleTimeout)
        {
            // A longer keepalive_timeout than any at start: connections are closed after the start's longest until then.
            next.Logs.ErrorLog.Write(Portico.Config.LogLevel.Notice, $"a keepalive_timeout longer than {(long)_transportIdleTimeout.TotalSeconds}s takes effect after a restart");
        }
        return Task.CompletedTask;
    }

    /// <summary>Re-opens every log file (<c>-s reopen</c>, SIGUSR1).</summary>
    public void ReopenLogs() => _snapshots.Current.Logs.Reopen();

    /// <summary>
    /// Stops. Graceful (SIGQUIT): stop accepting, let requests in flight finish, flush logs.
    /// Fast (SIGTERM/SIGINT): close connections now, still flush what was logged.
    /// </summary>
    public async Task StopAsync(bool graceful)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        using var cts = new CancellationTokenSource(graceful ? TimeSpan.FromSeconds(30) : TimeSpan.FromMilliseconds(1));
        try
        {
            await _app.StopAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        await _logs.DisposeAsync().ConfigureAwait(false);
        if (_pidFile is not null)
        {
            PidFile.Delete(_pidFile);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(graceful: false).ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    private static void Configure(ListenOptions listen, RejectedRequestLog rejected, TimeSpan idleTimeout, TimeSpan firstRequestTimeout)
    {
        listen.Protocols = HttpProtocols.Http1;
        listen.Use(next => connection =>
        {
            var own = connection as Transport.LoopConnection;
            connection.Features.Set(ClientConnection.Create(connection.LocalEndPoint, connection.RemoteEndPoint, own?.Worker ?? -1, own, own, own, idleTimeout, firstRequestTimeout));
            return rejected.TrackAsync(connection, next);
        });
    }

    /// <summary>Kestrel's keep-alive timeout: on Portico's loops the longest <c>keepalive_timeout</c> anywhere in the
    /// config, else the http level's (Kestrel's socket transport cannot close a connection sooner).</summary>
    internal static TimeSpan TransportIdleTimeout(Portico.Config.Model.HttpConfig http)
    {
        var longest = EventLoop.Loops is null ? http.Settings.KeepaliveTimeout : LongestKeepalive(http);
        return longest > TimeSpan.Zero ? longest : TimeSpan.FromMilliseconds(1);
    }

    private static TimeSpan LongestKeepalive(Portico.Config.Model.HttpConfig http)
    {
        static TimeSpan Longest(IEnumerable<Portico.Config.Model.LocationConfig> locations) =>
            locations.Select(l => TimeSpan.FromTicks(Math.Max(l.Settings.KeepaliveTimeout.Ticks, Longest(l.Locations).Ticks))).DefaultIfEmpty(TimeSpan.Zero).Max();

        return http.Servers
            .Select(server => TimeSpan.FromTicks(Math.Max(server.Settings.KeepaliveTimeout.Ticks, Longest(server.Locations).Ticks)))
            .Append(http.Settings.KeepaliveTimeout)
            .Max();
    }

    private static (int RequestLine, int Headers) HeaderLimits(Portico.Config.Model.HttpConfig http)
    {
        long line = 0, headers = 0;
        foreach (var settings in http.Servers.Select(server => server.Settings).Append(http.Settings))
        {
            line = Math.Max(line, settings.LargeClientHeaderBufferSize);
            headers = Math.Max(headers, settings.LargeClientHeaderBuffersCount * settings.LargeClientHeaderBufferSize);
        }

        return ((int)Math.Min(line, int.MaxValue), (int)Math.Min(headers, int.MaxValue));
    }

    private static Transport.ListenSocketFactory ListenSockets(IReadOnlyList<ListenBinding> bindings) => new(bindings);

    private static void DeleteStaleSocket(string path)
    {
        try
        {
            if (File.Exists(path))
            {
                File.Delete(path);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static string DescribeBindFailure(IOException ex, IReadOnlyList<ListenBinding> bindings)
    {
        var socketError = ex.InnerException as SocketException ?? ex.InnerException?.InnerException as SocketException;
        var target = bindings.Count == 1 ? bindings[0].Text : string.Join(", ", bindings.Select(b => b.Text));
        var text = ex.Message;
        foreach (var binding in bindings)
        {
            if (binding.EndPoint is not null && text.Contains(binding.EndPoint.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal))
            {
                target = binding.EndPoint.Address.Equals(IPAddress.Any) ? $"0.0.0.0:{binding.EndPoint.Port}" : binding.Text;
                break;
            }
        }

        var code = ex.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException ? "98: Address already in use" : socketError?.SocketErrorCode switch
        {
            SocketError.AddressAlreadyInUse => "98: Address already in use",
            SocketError.AccessDenied => "13: Permission denied",
            SocketError.AddressNotAvailable => "99: Cannot assign requested address",
            _ => socketError?.Message ?? ex.Message,
        };
        return $"bind() to {target} failed ({code})";
    }
}
