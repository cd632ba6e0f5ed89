using Portico.Config;

namespace Portico.Server.Logging;

/// <summary>What a full in-memory queue does to the caller.</summary>
internal enum FullQueuePolicy
{
    /// <summary>Never drop: the logging call waits until the writer has taken the queue (backpressure).</summary>
    Wait,

    /// <summary>Drop the line and count it in <see cref="LogFile.Dropped"/>.</summary>
    Drop,
}

/// <summary>
/// One log destination (a path, or stdout/stderr) shared by every access_log and error_log that
/// names it. Callers append whole lines under a lock into a pending buffer and return; the
/// <see cref="LogWriter"/> thread swaps the buffer out and writes it with one write() call, so
/// lines are never torn or interleaved and stay in append order.
/// <para>
/// <c>buffer=SIZE</c> / <c>flush=TIME</c> as nginx: data waits until the next line would not fit
/// in SIZE, or it is older than TIME, or on reopen / flush / shutdown. Without a buffer every line
/// goes out at once: written by the caller (below), or handed to the writer, where lines that arrive while it
/// writes go out in the next batch.
/// </para>
/// <para>
/// An unbuffered log in a regular file is written by the appending thread itself, with one write() per line while
/// the writer has nothing of the file's queued or in flight: what nginx does (ngx_http_log_write writes in the
/// worker). Handing every line to the writer thread cost a futex wake and a thread switch per line or two: under
/// PHP load with the default access log, 1.9 futex calls per request and 16k req/s against 20k without the log.
/// Standard streams, pipes, FIFOs and terminals (anything that cannot seek: <c>/dev/stdout</c> is often a pipe a slow
/// reader may stall) stay with the writer.
/// </para>
/// </summary>
internal sealed class LogFile
{
    private readonly object _lock = new();
    private readonly LogWriter _writer;
    private readonly int _maxPending;
    private readonly FullQueuePolicy _policy;
    private readonly List<(long Target, TaskCompletionSource Done)> _flushWaiters = [];
    private byte[] _pending = new byte[4096];
    private byte[]? _spare;
    private int _pendingLength;
    private long _appended;
    private long _written;
    private bool _scheduled;
    private bool _reopenRequested;
    private bool _closed;
    private bool _timerArmed;
    private bool _inFlight; // the writer took a batch and is writing it (a direct write now would overtake it)
    private ITimer? _timer;
    private LogHandle? _handle;
    private long _lines;
    private long _dropped;
    private long _waits;
    private long _writeErrors;
    private long _lostBytes;

    internal LogFile(LogWriter writer, string path, LogHandle handle, int bufferSize, TimeSpan flush, int maxPending, FullQueuePolicy policy)
    {
        _writer = writer;
        Path = path;
        _handle = handle;
        BufferSize = bufferSize;
        Flush = flush;
        _maxPending = Math.Max(maxPending, bufferSize * 2);
        _policy = policy;
        WritesInline = bufferSize == 0;
    }

    /// <summary>Unbuffered: a line appended while the writer has nothing queued is written at once by the caller, when
    /// the handle is a regular file.</summary>
    internal bool WritesInline { get; }

    public string Path { get; }

    /// <summary><c>buffer=SIZE</c>; 0 = unbuffered.</summary>
    public int BufferSize { get; }

    /// <summary><c>flush=TIME</c> (only with a buffer).</summary>
    public TimeSpan Flush { get; }

    public long Lines => Interlocked.Read(ref _lines);

    /// <summary>Lines dropped because the queue was full (<see cref="FullQueuePolicy.Drop"/>) or appended after close.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>How often a caller had to wait for the writer because the queue was full.</summary>
    public long BackpressureWaits => Interlocked.Read(ref _waits);

    /// <summary>write() failures (disk full, EIO, closed stderr); their bytes are in <see cref="LostBytes"/>.</summary>
    public long WriteErrors => Interlocked.Read(ref _writeErrors);

    public long LostBytes => Interlocked.Read(ref _lostBytes);

    /// <summary>True when nothing is queued and no handle is open (a retired file that can be forgotten).</summary>
    public bool IsIdle
    {
        get
        {
            lock (_lock)
            {
                return _pendingLength == 0 && _handle is null && _flushWaiters.Count == 0;
            }
        }
    }

    /// <summary>Appends one whole line (it must end with '\n'). Returns false when it was dropped.</summary>
    public bool Append(ReadOnlySpan<byte> line)
    {
        bool schedule;
        string? inlineError = null;
        lock (_lock)
        {
            if (_closed)
            {
                _dropped++;
                return false;
            }

            if (WritesInline && _pendingLength == 0 && !_scheduled && !_inFlight && !_reopenRequested && _handle is { IsSeekable: true } handle && !LogWriter.IsWriterThread)
            {
                // Under the lock: a reopen swaps the handle under it too, and disposes the old one only after the swap.
                inlineError = handle.Write(line);
                _appended += line.Length;
                _written += line.Length;
                _lines++;
                if (inlineError is not null)
                {
                    Interlocked.Increment(ref _writeErrors);
                    Interlocked.Add(ref _lostBytes, line.Length);
                }

                schedule = false;
            }
            else if (!TryQueueLocked(line, out schedule))
            {
                return false;
            }
        }

        if (inlineError is not null)
        {
            // Outside the lock: the report goes to the error log, which may be this very file.
            _writer.ReportError(this, LogLevel.Alert, $"write() to \"{Path}\" failed {inlineError}");
        }

        if (schedule)
        {
            _writer.Schedule(this);
        }

        return true;
    }

    /// <summary>Adds a line to the pending buffer, the caller holding the lock. False when it was dropped;
    /// <paramref name="schedule"/> says the writer must be scheduled (after the lock is released).</summary>
    private bool TryQueueLocked(ReadOnlySpan<byte> line, out bool schedule)
    {
        schedule = false;
        while (_pendingLength > 0 && _pendingLength + line.Length > _maxPending)
        {
            // The writer thread itself (error-log lines about a failed write) must never wait on itself.
            if (_policy == FullQueuePolicy.Drop && !LogWriter.IsWriterThread)
            {
                _dropped++;
                return false;
            }

            if (LogWriter.IsWriterThread)
            {
                break;
            }

            _waits++;
            if (!_scheduled)
            {
                _scheduled = true;
                _writer.Schedule(this);
            }

            Monitor.Wait(_lock);
            if (_closed)
            {
                _dropped++;
                return false;
            }
        }

        EnsureCapacity(_pendingLength + line.Length);
        var wasEmpty = _pendingLength == 0;
        line.CopyTo(_pending.AsSpan(_pendingLength));
        _pendingLength += line.Length;
        _appended += line.Length;
        _lines++;

        if (BufferSize == 0 || _pendingLength >= BufferSize)
        {
            schedule = !_scheduled;
            _scheduled = true;
        }
        else if (wasEmpty && !_timerArmed)
        {
            // flush=TIME counts from the oldest buffered line.
            _timerArmed = true;
            _timer ??= CreateTimer();
            _timer.Change(Flush, Timeout.InfiniteTimeSpan);
        }

        return true;
    }

    private ITimer CreateTimer()
    {
        // The first request to fill the buffer must not keep its ExecutionContext (AsyncLocals) alive in the timer.
        if (ExecutionContext.IsFlowSuppressed())
        {
            return _writer.Time.CreateTimer(static s => ((LogFile)s!).OnTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }

        using (ExecutionContext.SuppressFlow())
        {
            return _writer.Time.CreateTimer(static s => ((LogFile)s!).OnTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }
    }

    private void EnsureCapacity(int needed)
    {
        if (needed <= _pending.Length)
        {
            return;
        }

        var size = _pending.Length;
        while (size < needed)
        {
            size = size > int.MaxValue / 2 ? needed : size * 2;
        }

        // Reuse the writer's returned buffer when it is big enough (bursts would otherwise allocate per growth).
        var bigger = _spare is { } spare && spare.Length >= needed ? spare : new byte[size];
        if (ReferenceEquals(bigger, _spare))
        {
            _spare = null;
        }

        _pending.AsSpan(0, _pendingLength).CopyTo(bigger);
        if (_spare is null && _pending.Length <= 1 << 20)
        {
            _spare = _pending;
        }

        _pending = bigger;
    }

    private void OnTimer()
    {
        lock (_lock)
        {
            _timerArmed = false;
            if (_scheduled || _pendingLength == 0)
            {
                return;
            }

            _scheduled = true;
        }

        _writer.Schedule(this);
    }

    /// <summary>Completes when everything appended before the call is written (or failed to write).</summary>
    public Task FlushAsync()
    {
        var schedule = false;
        TaskCompletionSource tcs;
        lock (_lock)
        {
            if (_written >= _appended && !_reopenRequested)
            {
                return Task.CompletedTask;
            }

            tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _flushWaiters.Add((_appended, tcs));
            schedule = !_scheduled;
            _scheduled = true;
        }

        if (schedule)
        {
            _writer.Schedule(this);
        }

        return tcs.Task;
    }

    /// <summary>Asks the writer to write what is pending to the old file, then reopen the path.</summary>
    public Task ReopenAsync()
    {
        if (Path is "stdout" or "stderr")
        {
            return FlushAsync();
        }

        lock (_lock)
        {
            _reopenRequested = true;
        }

        return FlushAsyncForced();
    }

    private Task FlushAsyncForced()
    {
        TaskCompletionSource tcs = new(TaskCreationOptions.RunContinuationsAsynchronously);
        bool schedule;
        lock (_lock)
        {
            // Target past the current end so the waiter completes only after the writer's next service.
            _flushWaiters.Add((_appended, tcs));
            schedule = !_scheduled;
            _scheduled = true;
        }

        if (schedule)
        {
            _writer.Schedule(this);
        }

        return tcs.Task;
    }

    /// <summary>Stops taking lines (later appends count as dropped), writes every accepted line, closes the handle.</summary>
    public async Task CloseAsync()
    {
        lock (_lock)
        {
            _closed = true;
            Monitor.PulseAll(_lock);
        }

        await FlushAsync().ConfigureAwait(false);
        LogHandle? handle;
        lock (_lock)
        {
            _timer?.Dispose();
            handle = _handle;
            _handle = null;
        }

        if (handle is not null)
        {
            _writer.DisposeOnWriter(handle);
        }
    }

    /// <summary>
    /// Writes what is pending and closes the handle, but stays usable: a later append opens the
    /// path again (a request in flight on an old config, or a path evicted from the cache).
    /// </summary>
    public async Task RetireAsync()
    {
        await FlushAsync().ConfigureAwait(false);
        LogHandle? handle;
        lock (_lock)
        {
            if (_pendingLength > 0)
            {
                return;
            }

            handle = _handle;
            _handle = null;
        }

        if (handle is not null)
        {
            _writer.DisposeOnWriter(handle);
        }
    }

    /// <summary>Runs on the writer thread: one batch write, then a pending reopen.</summary>
    internal void Service()
    {
        byte[]? batch;
        int length;
        bool reopen;
        LogHandle? handle;
        lock (_lock)
        {
            _scheduled = false;
            batch = null;
            length = _pendingLength;
            if (length > 0)
            {
                _inFlight = true;
                batch = _pending;
                _pending = _spare ?? new byte[Math.Max(4096, Math.Min(batch.Length, 1 << 20))];
                _spare = null;
                _pendingLength = 0;
                Monitor.PulseAll(_lock);
            }

            if (_timerArmed)
            {
                _timerArmed = false;
                _timer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            }

            reopen = _reopenRequested;
            _reopenRequested = false;
            handle = _handle;
        }

        if (batch is not null)
        {
            var closeAfterWrite = false;
            if (handle is null)
            {
                // Retired (config reload, evicted from the variable-path cache) but still used by a
                // request in flight: open the path again rather than lose the line. Also when the
                // file is closing (graceful stop): the lines were accepted before the close.
                handle = LogHandle.TryOpen(Path, out var openError);
                if (handle is null)
                {
                    _writer.ReportError(this, LogLevel.Alert, openError!);
                }
                else
                {
                    lock (_lock)
                    {
                        closeAfterWrite = _closed;
                        if (!_closed)
                        {
                            _handle = handle;
                        }
                    }
                }
            }

            var error = handle is null ? "(closed)" : handle.Write(batch.AsSpan(0, length));
            if (closeAfterWrite)
            {
                handle!.Dispose();
            }

            if (error is not null)
            {
                Interlocked.Increment(ref _writeErrors);
                Interlocked.Add(ref _lostBytes, length);
                if (handle is not { IsStandard: true })
                {
                    // nginx: write() to "/x/access.log" failed (28: No space left on device)
                    _writer.ReportError(this, LogLevel.Alert, $"write() to \"{Path}\" failed {error}");
                }
            }
        }

        if (reopen)
        {
            var fresh = LogHandle.TryOpen(Path, out var error);
            if (fresh is null)
            {
                // ngx_reopen_files: the old descriptor stays in use; nginx logs at emerg.
                _writer.ReportError(this, LogLevel.Emerg, error!);
            }
            else
            {
                LogHandle? old;
                lock (_lock)
                {
                    old = _handle;
                    _handle = _closed ? null : fresh;
                }

                if (_closed)
                {
                    fresh.Dispose();
                }
                else
                {
                    old?.Dispose();
                }
            }
        }

        List<TaskCompletionSource>? done = null;
        lock (_lock)
        {
            if (batch is not null)
            {
                _inFlight = false;
                _written += length;
                if (batch.Length <= 1 << 20)
                {
                    _spare = batch;
                }
            }

            for (var i = _flushWaiters.Count - 1; i >= 0; i--)
            {
                if (_flushWaiters[i].Target <= _written)
                {
                    (done ??= []).Add(_flushWaiters[i].Done);
                    _flushWaiters.RemoveAt(i);
                }
            }

            if (_flushWaiters.Count > 0 && !_scheduled)
            {
                _scheduled = true;
                _writer.Schedule(this);
            }
        }

        if (done is not null)
        {
            foreach (var tcs in done)
            {
                tcs.TrySetResult();
            }
        }
    }
}
