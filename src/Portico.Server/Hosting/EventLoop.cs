namespace Portico.Server.Hosting;

/// <summary>
/// Runs request handling the way nginx's workers do: on a few event-loop threads, each waiting in epoll
/// and running the code of every socket it owns to its next wait, with no hop to a thread pool in between.
/// Socket completions and Kestrel's application code then run inline on the epoll thread
/// (DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS and Kestrel's UnsafePreferInlineScheduling); the number of
/// those threads is <c>worker_processes</c> (https://nginx.org/en/docs/ngx_core_module.html#worker_processes).
/// A proxied request then costs about one context switch instead of three or four (measured with php-fpm:
/// 3.6 voluntary switches per request with the thread pool, 0.3 with one event loop). As in nginx, code on
/// this path must not block for long: disk reads of cached files and log writes are the accepted exceptions.
/// </summary>
public static class EventLoop
{
    private const string InlineVariable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";
    private const string ThreadCountVariable = "DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT";
    private const string TransportVariable = "PORTICO_TRANSPORT";
    private static Transport.EpollLoopGroup? s_loops;

    /// <summary>The event-loop threads in use, or 0 when <see cref="Configure"/> was not called
    /// (in-process hosts, e.g. tests, keep the runtime's thread-pool dispatch).</summary>
    public static int Threads { get; private set; }

    /// <summary>
    /// The workers nginx would run for this config: the event-loop threads when <c>worker_processes</c> is set
    /// (a number or <c>auto</c>), 1 when it is absent (nginx's default; Portico still runs one loop per CPU then).
    /// Upstream <c>keepalive</c> counts per worker, as in nginx. 0 when <see cref="Configure"/> was not called.
    /// </summary>
    public static int Workers { get; private set; }

    /// <summary>
    /// Must run before the process creates its first socket: the runtime reads both settings once. A value the
    /// operator already put in the environment wins. <paramref name="workers"/> null means one per CPU;
    /// <paramref name="auto"/> says it was asked for (<c>worker_processes auto</c>) rather than left unset.
    /// </summary>
    public static void Configure(int? workers, bool auto = false)
    {
        var threads = workers ?? Environment.ProcessorCount;
        if (Environment.GetEnvironmentVariable(InlineVariable) is null)
        {
            Environment.SetEnvironmentVariable(InlineVariable, "1");
        }

        if (Environment.GetEnvironmentVariable(ThreadCountVariable) is { } set && int.TryParse(set, out var fixedCount) && fixedCount > 0)
        {
            threads = fixedCount;
        }
        else
        {
            Environment.SetEnvironmentVariable(ThreadCountVariable, threads.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        Threads = threads;
        Workers = workers is not null || auto ? threads : 1;
        OwnLoops = OperatingSystem.IsLinux() && Environment.GetEnvironmentVariable(TransportVariable) != "sockets";
    }

    /// <summary>
    /// True when client connections and FastCGI connections run on Portico's own epoll loops
    /// (<see cref="Transport.EpollLoop"/>) rather than .NET's socket engine: on Linux once <see cref="Configure"/>
    /// ran, unless PORTICO_TRANSPORT=sockets asks for Kestrel's socket transport (a way back should a platform
    /// misbehave; the two are tested alike).
    /// </summary>
    public static bool OwnLoops { get; private set; }

    /// <summary>The loops (created at first use), or null when <see cref="OwnLoops"/> is off.</summary>
    internal static Transport.EpollLoopGroup? Loops => OwnLoops ? s_loops ??= Transport.EpollLoopGroup.Shared(Threads) : null;
}
