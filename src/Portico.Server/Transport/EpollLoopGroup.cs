namespace Portico.Server.Transport;

/// <summary>
/// The process's event loops: <c>worker_processes</c> of them (see <see cref="Hosting.EventLoop"/>), started
/// once and kept for the life of the process, as nginx's workers are.
/// </summary>
internal sealed class EpollLoopGroup
{
    private static readonly Lock s_lock = new();
    private static EpollLoopGroup? s_shared;
    private int _next;

    private EpollLoopGroup(int count)
    {
        Loops = new EpollLoop[count];
        for (var i = 0; i < count; i++)
        {
            Loops[i] = new EpollLoop(i);
        }
    }

    public EpollLoop[] Loops { get; }

    /// <summary>The group with <paramref name="count"/> loops, created by the first caller.</summary>
    public static EpollLoopGroup Shared(int count)
    {
        lock (s_lock)
        {
            return s_shared ??= new EpollLoopGroup(Math.Max(1, count));
        }
    }

    /// <summary>The caller's own loop when it runs on one (a request opening a FastCGI connection keeps it on
    /// the loop of its client), otherwise the next in turn.</summary>
    public EpollLoop Pick() => EpollLoop.Current ?? Next();

    /// <summary>The loops in turn: where accepted connections go, so they spread evenly whichever loop woke to
    /// accept them (as .NET's socket engines are assigned).</summary>
    public EpollLoop Next() => Loops[(int)((uint)Interlocked.Increment(ref _next) % (uint)Loops.Length)];
}
