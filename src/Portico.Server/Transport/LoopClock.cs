using System.Diagnostics;

namespace Portico.Server.Transport;

/// <summary>
/// nginx's cached time (ngx_time_update, once per turn of the event loop): an <see cref="EpollLoop"/> reads the
/// monotonic clock when epoll_wait(2) returns, and everything its thread runs in that turn reads the copy. A PHP
/// request read the clock nine times (request start, upstream timing, the two I/O deadlines, the pool's return
/// and idle checks); each read is a vDSO call of about 100 cycles on a virtual machine. Wall-clock time is read
/// at most once per turn, when first asked. Off the loops (timer callbacks, tests) both are read live. As with
/// nginx, times measured on a loop are as fine as its turns: a turn that runs for a few milliseconds shifts them
/// by as much, well within the millisecond precision of timeouts and logs.
/// </summary>
internal static class LoopClock
{
    [ThreadStatic]
    private static long t_timestamp; // Stopwatch ticks when this loop's turn began; 0 off the loops

    [ThreadStatic]
    private static long t_utcTicks; // DateTime ticks read in this turn, 0 until first asked

    /// <summary>A loop's turn begins (called by the loop thread after each wait).</summary>
    public static void Turn()
    {
        t_timestamp = Stopwatch.GetTimestamp();
        t_utcTicks = 0;
    }

    /// <summary>Stopwatch ticks: the turn's on a loop thread, the clock's elsewhere.</summary>
    public static long GetTimestamp()
    {
        var cached = t_timestamp;
        return cached != 0 ? cached : Stopwatch.GetTimestamp();
    }

    /// <summary>
    /// Off the loops, holds one reading of the clock until disposed, as a loop's turn does: a request finished on
    /// another thread (after an asynchronous file read) logs its line with one time for $time_local, $time_iso8601,
    /// $msec and $request_time, as nginx's cached time gives every line. On a loop thread it changes nothing.
    /// </summary>
    public static HeldTurn HoldTurnOffLoop()
    {
        if (t_timestamp != 0)
        {
            return default;
        }

        Turn();
        return new HeldTurn(true);
    }

    /// <summary>Wall-clock time: read once per turn on a loop thread, live elsewhere.</summary>
    public static DateTimeOffset GetUtcNow()
    {
        if (t_timestamp == 0)
        {
            return DateTimeOffset.UtcNow;
        }

        var ticks = t_utcTicks;
        if (ticks == 0)
        {
            ticks = DateTime.UtcNow.Ticks;
            t_utcTicks = ticks;
        }

        return new DateTimeOffset(ticks, TimeSpan.Zero);
    }

    /// <summary>The scope of <see cref="HoldTurnOffLoop"/>: back to live readings when it ends.</summary>
    public readonly struct HeldTurn(bool held) : IDisposable
    {
        public void Dispose()
        {
            if (held)
            {
                t_timestamp = 0;
                t_utcTicks = 0;
            }
        }
    }
}
