using System.Collections.Concurrent;
using Portico.Config;

namespace Portico.Server.Logging;

/// <summary>
/// The one background thread that writes buffered logs, standard streams, pipes and FIFOs, and any line of an
/// unbuffered file that arrives while the file has work queued here (an unbuffered regular file is otherwise written
/// by the request's thread, as nginx does: see <see cref="LogFile"/>). A dedicated thread, not the thread pool:
/// callers that wait on a full queue block pool threads, and the writer must still run then.
/// </summary>
internal sealed class LogWriter : IDisposable
{
    [ThreadStatic]
    private static bool t_isWriterThread;

    private readonly ConcurrentQueue<object> _work = new();
    // Set when work is queued. No spinning (spinCount 0): a SemaphoreSlim spun with sched_yield before each sleep, 27
    // calls per request under PHP load with an access log, taking the CPU the event loop and the backends need.
    private readonly ManualResetEventSlim _signal = new(false, spinCount: 0);
    private readonly Thread _thread;
    private readonly ConcurrentDictionary<LogFile, long> _lastErrorTicks = new();
    private volatile bool _stopping;

    public LogWriter(TimeProvider time)
    {
        Time = time;
        _thread = new Thread(Run) { IsBackground = true, Name = "portico-log-writer" };
        _thread.Start();
    }

    public TimeProvider Time { get; }

    /// <summary>Where write/reopen failures go (the error log); set by the log manager.</summary>
    public Action<LogLevel, string>? ErrorSink { get; set; }

    public static bool IsWriterThread => t_isWriterThread;

    internal void Schedule(LogFile file)
    {
        _work.Enqueue(file);
        _signal.Set();
    }

    internal void DisposeOnWriter(LogHandle handle)
    {
        _work.Enqueue(handle);
        _signal.Set();
    }

    internal void ReportError(LogFile file, LogLevel level, string message)
    {
        // nginx reports a failing log file at most once a minute (ngx_http_log_write, error_time),
        // which also stops an error log that cannot be written from feeding itself.
        var now = Time.GetTimestamp();
        if (_lastErrorTicks.TryGetValue(file, out var last) && Time.GetElapsedTime(last, now) < TimeSpan.FromSeconds(60))
        {
            return;
        }

        _lastErrorTicks[file] = now;
        try
        {
            ErrorSink?.Invoke(level, message);
        }
        catch (Exception)
        {
            // The error log must never take the writer down.
        }
    }

    private void Run()
    {
        t_isWriterThread = true;
        while (true)
        {
            if (!_work.TryDequeue(out var item))
            {
                if (_stopping)
                {
                    return;
                }

                // Reset before the last look, so work queued after it sets the event again and is not missed.
                _signal.Reset();
                if (!_work.TryDequeue(out item))
                {
                    if (_stopping)
                    {
                        return;
                    }

                    _signal.Wait();
                    continue;
                }
            }

            try
            {
                switch (item)
                {
                    case LogFile file:
                        file.Service();
                        break;
                    case LogHandle handle:
                        handle.Dispose();
                        break;
                }
            }
            catch (Exception e)
            {
                // A bug here must not stop every log; report and keep going.
                try
                {
                    ErrorSink?.Invoke(LogLevel.Alert, "log writer: " + e.Message);
                }
                catch (Exception)
                {
                }
            }
        }
    }

    /// <summary>Stops the thread after the queued work; callers flush the files first.</summary>
    public void Dispose()
    {
        _stopping = true;
        _signal.Set();
        if (Thread.CurrentThread != _thread)
        {
            _thread.Join(TimeSpan.FromSeconds(10));
        }
    }
}
