using Portico.FastCgi.Client;

namespace Portico.FastCgi.Tests;

/// <summary>The lazy per-connection deadline: arming moves a timestamp, the timer re-schedules itself when
/// it fires early, and only a deadline that really passed while armed cancels the connection.</summary>
public sealed class IoDeadlineTests
{
    [Fact]
    public void Expires_once_the_armed_deadline_passes()
    {
        var clock = new SteppedClock();
        var fired = 0;
        using var deadline = new IoDeadline(clock, () => fired++);
        deadline.Arm(TimeSpan.FromSeconds(1));
        clock.Advance(TimeSpan.FromMilliseconds(999));
        Assert.False(deadline.Expired);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(deadline.Expired);
        Assert.Equal(1, fired);
    }

    [Fact]
    public void Rearming_moves_the_deadline_without_firing_early()
    {
        var clock = new SteppedClock();
        var fired = 0;
        using var deadline = new IoDeadline(clock, () => fired++);
        deadline.Arm(TimeSpan.FromSeconds(1));
        clock.Advance(TimeSpan.FromMilliseconds(600));
        deadline.Disarm();
        deadline.Arm(TimeSpan.FromSeconds(1)); // due at 1.6 s now; the timer still wakes at 1 s
        clock.Advance(TimeSpan.FromMilliseconds(500));
        Assert.False(deadline.Expired);
        clock.Advance(TimeSpan.FromMilliseconds(499));
        Assert.False(deadline.Expired);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.True(deadline.Expired);
        Assert.Equal(1, fired);
    }

    [Fact]
    public void A_disarmed_deadline_never_fires_and_a_later_arm_schedules_again()
    {
        var clock = new SteppedClock();
        var fired = 0;
        using var deadline = new IoDeadline(clock, () => fired++);
        deadline.Arm(TimeSpan.FromSeconds(1));
        deadline.Disarm();
        clock.Advance(TimeSpan.FromSeconds(5));
        Assert.False(deadline.Expired);

        deadline.Arm(TimeSpan.FromSeconds(2));
        clock.Advance(TimeSpan.FromSeconds(2));
        Assert.True(deadline.Expired);
        Assert.Equal(1, fired);
    }

    [Fact]
    public void A_shorter_timeout_after_a_longer_one_fires_on_time()
    {
        var clock = new SteppedClock();
        using var deadline = new IoDeadline(clock, () => { });
        deadline.Arm(TimeSpan.FromSeconds(60));
        deadline.Disarm();
        deadline.Arm(TimeSpan.FromMilliseconds(300));
        clock.Advance(TimeSpan.FromMilliseconds(300));
        Assert.True(deadline.Expired);
    }

    [Fact]
    public void Infinite_timeout_guards_nothing()
    {
        var clock = new SteppedClock();
        using var deadline = new IoDeadline(clock, () => { });
        deadline.Arm(Timeout.InfiniteTimeSpan);
        clock.Advance(TimeSpan.FromDays(400));
        Assert.False(deadline.Expired);
    }

    /// <summary>A clock whose one-shot timers fire, in order, as <see cref="Advance"/> passes their due time.</summary>
    private sealed class SteppedClock : TimeProvider
    {
        private readonly List<StepTimer> _timers = [];
        private long _now;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => _now;

        public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
        {
            var timer = new StepTimer(this, callback, state);
            _timers.Add(timer);
            timer.Change(dueTime, period);
            return timer;
        }

        public void Advance(TimeSpan by)
        {
            var end = _now + by.Ticks;
            while (_timers.Where(t => t.Due <= end).OrderBy(t => t.Due).FirstOrDefault() is { } next)
            {
                _now = Math.Max(_now, next.Due);
                next.Due = long.MaxValue;
                next.Callback(next.State);
            }

            _now = end;
        }

        private sealed class StepTimer(SteppedClock clock, TimerCallback callback, object? state) : ITimer
        {
            public long Due { get; set; } = long.MaxValue;

            public TimerCallback Callback => callback;

            public object? State => state;

            public bool Change(TimeSpan dueTime, TimeSpan period)
            {
                Due = dueTime == Timeout.InfiniteTimeSpan ? long.MaxValue : clock._now + dueTime.Ticks;
                return true;
            }

            public void Dispose() => Due = long.MaxValue;

            public ValueTask DisposeAsync()
            {
                Dispose();
                return ValueTask.CompletedTask;
            }
        }
    }
}
