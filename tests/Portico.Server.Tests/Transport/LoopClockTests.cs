using System.Diagnostics;
using Portico.Server.Transport;

namespace Portico.Server.Tests.Transport;

/// <summary>
/// nginx's cached time on the event loops: one clock read per turn of a loop, shared by everything the turn runs;
/// live reads off the loops, except while a held turn lasts (an access-log line written off the loops).
/// </summary>
public sealed class LoopClockTests
{
    private static Task<T> OnLoop<T>(Func<T> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        LoopSocketTests.Loops.Next().Post(_ =>
        {
            try
            {
                done.SetResult(work());
            }
            catch (Exception ex)
            {
                done.SetException(ex);
            }
        }, null);
        return done.Task.WaitAsync(TimeSpan.FromSeconds(5));
    }

    private static void Spin(TimeSpan time)
    {
        var until = Stopwatch.GetTimestamp() + (long)(time.TotalSeconds * Stopwatch.Frequency);
        while (Stopwatch.GetTimestamp() < until)
        {
            Thread.SpinWait(100);
        }
    }

    [Fact]
    public async Task A_turn_of_a_loop_reads_the_clock_once()
    {
        var (firstTimestamp, laterTimestamp, firstUtc, laterUtc) = await OnLoop(() =>
        {
            var timestamp = LoopClock.GetTimestamp();
            var utc = LoopClock.GetUtcNow();
            Spin(TimeSpan.FromMilliseconds(5));
            return (timestamp, LoopClock.GetTimestamp(), utc, LoopClock.GetUtcNow());
        });

        Assert.Equal(firstTimestamp, laterTimestamp);
        Assert.Equal(firstUtc, laterUtc);

        // The next turn reads the clock again.
        await Task.Delay(20);
        var next = await OnLoop(LoopClock.GetTimestamp);
        Assert.True(Stopwatch.GetElapsedTime(firstTimestamp, next) >= TimeSpan.FromMilliseconds(15));
    }

    [Fact]
    public void Off_the_loops_the_clock_is_read_live()
    {
        var first = LoopClock.GetTimestamp();
        Spin(TimeSpan.FromMilliseconds(2));
        Assert.True(Stopwatch.GetElapsedTime(first, LoopClock.GetTimestamp()) >= TimeSpan.FromMilliseconds(2));
        Assert.InRange(LoopClock.GetUtcNow() - DateTimeOffset.UtcNow, TimeSpan.FromSeconds(-1), TimeSpan.Zero);
    }

    [Fact]
    public void Off_the_loops_a_held_turn_gives_one_time_until_it_ends_then_live_again()
    {
        using (LoopClock.HoldTurnOffLoop())
        {
            var utc = LoopClock.GetUtcNow();
            var stamp = LoopClock.GetTimestamp();
            Spin(TimeSpan.FromMilliseconds(20));
            Assert.Equal(utc, LoopClock.GetUtcNow());
            Assert.Equal(stamp, LoopClock.GetTimestamp());
        }

        var first = LoopClock.GetTimestamp();
        Spin(TimeSpan.FromMilliseconds(5));
        Assert.NotEqual(first, LoopClock.GetTimestamp());
    }

    [Fact]
    public async Task On_a_loop_holding_a_turn_leaves_the_loops_own_turn_in_place()
    {
        var (inside, after) = await OnLoop(() =>
        {
            var turn = LoopClock.GetTimestamp();
            using (LoopClock.HoldTurnOffLoop())
            {
                Spin(TimeSpan.FromMilliseconds(5));
            }

            return (turn, LoopClock.GetTimestamp());
        });
        Assert.Equal(inside, after);
    }
}
