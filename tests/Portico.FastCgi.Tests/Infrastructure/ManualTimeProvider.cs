namespace Portico.FastCgi.Tests.Infrastructure;

/// <summary>
/// A clock that only moves when told. Timers stay real (they are only used for timeouts here) unless
/// <see cref="ManualTimers"/> is set: then they fire only when <see cref="Advance"/> moves the clock past them.
/// </summary>
internal sealed class ManualTimeProvider : TimeProvider
{
    private readonly Lock _lock = new();
    private readonly List<ManualTimer> _timers = [];
    private long _ticks = TimeSpan.FromDays(1).Ticks;

    /// <summary>Timers run on the manual clock, fired by <see cref="Advance"/>, not by real time.</summary>
    public bool ManualTimers { get; init; }

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => Interlocked.Read(ref _ticks);

    public override DateTimeOffset GetUtcNow() => new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).AddTicks(GetTimestamp());

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        if (!ManualTimers)
        {
            return base.CreateTimer(callback, state, dueTime, period);
        }

        var timer = new ManualTimer(this, callback, state);
        lock (_lock)
        {
            _timers.Add(timer);
        }

        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>Moves the clock on, then runs every manual timer now due (outside the lock, as the runtime does).</summary>
    public void Advance(TimeSpan by)
    {
        Interlocked.Add(ref _ticks, by.Ticks);
        while (true)
        {
            ManualTimer? due;
            lock (_lock)
            {
                var now = GetTimestamp();
                due = _timers.Find(t => t.DueAt <= now);
                due?.Fired();
            }

            if (due is null)
            {
                return;
            }

            due.Run();
        }
    }

    private sealed class ManualTimer(ManualTimeProvider owner, TimerCallback callback, object? state) : ITimer
    {
        private long _period = -1;

        public long DueAt { get; private set; } = long.MaxValue;

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (owner._lock)
            {
                DueAt = dueTime == Timeout.InfiniteTimeSpan ? long.MaxValue : owner.GetTimestamp() + dueTime.Ticks;
                _period = period == Timeout.InfiniteTimeSpan || period == TimeSpan.Zero ? -1 : period.Ticks;
            }

            return true;
        }

        /// <summary>Called under the owner's lock when the timer is taken to run.</summary>
        public void Fired() => DueAt = _period < 0 ? long.MaxValue : DueAt + _period;

        public void Run() => callback(state);

        public void Dispose()
        {
            lock (owner._lock)
            {
                DueAt = long.MaxValue;
                owner._timers.Remove(this);
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
