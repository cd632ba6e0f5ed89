using System.Buffers;
using System.Runtime.CompilerServices;
using Portico.Config;
using Portico.Config.Model;
using Portico.Server.Phases;
using Portico.Server.Variables;

namespace Portico.Server.Logging;

/// <summary>Tuning of the log queues; the defaults are what the server uses.</summary>
internal sealed record LogOptions
{
    /// <summary>
    /// Per file, how many bytes may wait in memory for the writer. Past that the policy applies.
    /// The effective bound is at least twice the file's <c>buffer=</c>.
    /// </summary>
    public int MaxPendingBytes { get; init; } = 4 << 20;

    /// <summary>Default <see cref="FullQueuePolicy.Wait"/>: no line is ever dropped; callers wait for the disk.</summary>
    public FullQueuePolicy FullQueuePolicy { get; init; } = FullQueuePolicy.Wait;

    /// <summary>
    /// <c>flush</c> used when <c>buffer=</c> is given without <c>flush=</c>. nginx then keeps data
    /// until the buffer fills; we bound its age so an idle server's log is not hours behind.
    /// </summary>
    public TimeSpan DefaultFlush { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Open files kept for access_log paths with variables (nginx's open_log_file_cache max).</summary>
    public int VariablePathCacheSize { get; init; } = 64;

    /// <summary>Where "stderr" writes; tests pass a closed descriptor.</summary>
    public LogHandle? StandardError { get; init; }
}

/// <summary>One access_log of a level, compiled.</summary>
internal sealed record AccessLogEntry(LogFile? File, CompiledValue? PathValue, CompiledLogFormat Format, CompiledValue? Condition, SourceLocation Where);

/// <summary>The access logs of one <see cref="LocationSettings"/>: none (<c>off</c>) or one line per entry.</summary>
internal sealed class AccessLogPlan
{
    public static readonly AccessLogPlan Off = new([]);

    public AccessLogPlan(AccessLogEntry[] entries) => Entries = entries;

    public AccessLogEntry[] Entries { get; }

    public bool IsOff => Entries.Length == 0;
}

/// <summary>
/// The logging entry point of the server: compiles <c>log_format</c>/<c>access_log</c>/
/// <c>error_log</c> at load, writes one access-log line per finished request
/// (<see cref="Log(RequestContext)"/>), exposes the <see cref="ErrorLog"/>, and implements
/// reopen (<c>-s reopen</c>, SIGUSR1), flush and graceful stop. All writes go through one
/// <see cref="LogWriter"/> thread.
/// </summary>
internal sealed class LogManager : IAsyncDisposable
{
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_line;

    private readonly object _lock = new();
    private readonly LogWriter _writer;
    private readonly LogOptions _options;
    private readonly LogFile _stderr;
    private readonly ConditionalWeakTable<LocationSettings, AccessLogPlan> _plans = new();
    private readonly ConditionalWeakTable<IReadOnlyList<ErrorLogConfig>, ErrorLog.Target[]> _errorTargets = new();
    private readonly Dictionary<string, (LogFile File, long LastUse)> _variableFiles = new(StringComparer.Ordinal);
    private readonly List<LogFile> _extraFiles = [];

    // Files a reload or the variable-path cache let go of. Requests still running on an old
    // configuration may append to them (the file then reopens its path); they stay listed so
    // flush, reopen and shutdown still reach those lines.
    private readonly List<LogFile> _retired = [];
    private Dictionary<string, LogFile> _files = new(StringComparer.Ordinal);
    private Dictionary<string, LogFile> _errorFiles = new(StringComparer.Ordinal);
    private IReadOnlyDictionary<string, CompiledLogFormat> _formats;
    private VariableScope _scope;
    private long _useCounter;
    private long _variablePathFailures;
    private bool _disposed;

    public LogManager(string prefix, TimeProvider? time = null, LogOptions? options = null)
    {
        Prefix = prefix;
        _options = options ?? new LogOptions();
        _scope = time is null ? VariableScope.Default : VariableScope.Default.WithTimeProvider(time);
        _writer = new LogWriter(time ?? TimeProvider.System);
        _stderr = NewFile("stderr", _options.StandardError ?? LogHandle.StandardError, 0, TimeSpan.Zero);

        // Before a configuration is loaded nginx logs to stderr at notice (ngx_log_init).
        ErrorLog = new ErrorLog(_scope.Clock, [new ErrorLog.Target(_stderr, LogLevel.Notice)]);
        ErrorLog.RequestTargets = RequestErrorTargets;
        _writer.ErrorSink = (level, message) => ErrorLog.Write(level, message);
        _formats = new Dictionary<string, CompiledLogFormat> { ["combined"] = CompiledLogFormat.Combined(_scope) };
    }

    /// <summary>Relative paths (the default <c>logs/access.log</c>) resolve against it.</summary>
    public string Prefix { get; }

    public ErrorLog ErrorLog { get; }

    /// <summary>Lines that could not be written because a variable path could not be opened.</summary>
    public long VariablePathFailures => Interlocked.Read(ref _variablePathFailures);

    /// <summary>Every file currently in use (counters for tests and status).</summary>
    public IReadOnlyCollection<LogFile> Files
    {
        get
        {
            lock (_lock)
            {
                return [.. _files.Values, .. _extraFiles, .. _errorFiles.Values, .. _variableFiles.Values.Select(v => v.File), _stderr];
            }
        }
    }

    // ------------------------------------------------------------------ load

    /// <summary>
    /// Compiles the logging part of a configuration: main error logs, log formats, the access
    /// and error logs of the http block, every server and every location, opening every file
    /// without variables now. Throws <see cref="ConfigException"/> (unknown format, bad variable,
    /// <c>open() "/x" failed (13: Permission denied)</c>) and then changes nothing.
    /// </summary>
    public void Load(PorticoConfig config, VariableScope? scope = null)
    {
        scope ??= _scope;
        var http = config.Http;
        var formats = http is null
            ? new Dictionary<string, CompiledLogFormat> { ["combined"] = CompiledLogFormat.Combined(scope) }
            : CompiledLogFormat.CompileAll(http.LogFormats, scope);

        var opened = new Dictionary<string, LogFile>(StringComparer.Ordinal);
        var openedError = new Dictionary<string, LogFile>(StringComparer.Ordinal);
        var plans = new List<(LocationSettings, AccessLogPlan)>();
        var errorTargets = new List<(IReadOnlyList<ErrorLogConfig>, ErrorLog.Target[])>();
        try
        {
            var main = config.ErrorLogs.Count > 0 && !IsImplicitDefault(config.ErrorLogs)
                ? OpenErrorTargets(config.ErrorLogs, openedError)
                : DefaultErrorTargets(openedError);
            if (http is not null)
            {
                foreach (var settings in AllSettings(http))
                {
                    plans.Add((settings, Compile(settings, formats, scope, opened)));
                    if (settings.ErrorLogs.Count > 0)
                    {
                        errorTargets.Add((settings.ErrorLogs, OpenErrorTargets(settings.ErrorLogs, openedError)));
                    }
                }
            }

            List<LogFile> retired;
            lock (_lock)
            {
                retired = [.. _files.Values.Where(f => !opened.ContainsValue(f)), .. _errorFiles.Values.Where(f => !openedError.ContainsValue(f))];
                _retired.RemoveAll(f => f.IsIdle);
                _retired.AddRange(retired);
                _files = opened;
                _errorFiles = openedError;
                _formats = formats;
                _scope = scope;
            }

            foreach (var (settings, plan) in plans)
            {
                _plans.AddOrUpdate(settings, plan);
            }

            foreach (var (list, targets) in errorTargets)
            {
                _errorTargets.AddOrUpdate(list, targets);
            }

            ErrorLog.SetMainTargets(main.Length > 0 ? main : [new ErrorLog.Target(_stderr, LogLevel.Error)]);
            foreach (var file in retired)
            {
                _ = file.RetireAsync();
            }
        }
        catch
        {
            lock (_lock)
            {
                foreach (var file in opened.Values.Concat(openedError.Values))
                {
                    if (!_files.ContainsValue(file) && !_errorFiles.ContainsValue(file))
                    {
                        _ = file.CloseAsync();
                    }
                }
            }

            throw;
        }
    }

    private static IEnumerable<LocationSettings> AllSettings(HttpConfig http)
    {
        yield return http.Settings;
        foreach (var server in http.Servers)
        {
            yield return server.Settings;
            var stack = new Stack<LocationConfig>(server.Locations);
            while (stack.Count > 0)
            {
                var location = stack.Pop();
                yield return location.Settings;
                foreach (var nested in location.Locations)
                {
                    stack.Push(nested);
                }
            }
        }
    }

    /// <summary>
    /// Compiles the access logs of one level. Files are opened now (and shared by path with the
    /// current configuration); an empty list without <c>access_log off</c> means nginx's default
    /// <c>logs/access.log combined</c>.
    /// </summary>
    public AccessLogPlan Compile(LocationSettings settings, IReadOnlyDictionary<string, CompiledLogFormat> formats, VariableScope? scope = null)
    {
        var files = new Dictionary<string, LogFile>(StringComparer.Ordinal);
        var plan = Compile(settings, formats, scope ?? _scope, files);
        lock (_lock)
        {
            foreach (var (path, file) in files)
            {
                if (!_files.TryAdd(path, file) && _files[path] != file)
                {
                    _extraFiles.Add(file);
                }
            }
        }

        _plans.AddOrUpdate(settings, plan);
        return plan;
    }

    private AccessLogPlan Compile(LocationSettings settings, IReadOnlyDictionary<string, CompiledLogFormat> formats, VariableScope scope, Dictionary<string, LogFile> opened)
    {
        if (settings.AccessLogOff && settings.AccessLogs.Count == 0)
        {
            return AccessLogPlan.Off;
        }

        var configs = settings.AccessLogs.Count > 0
            ? settings.AccessLogs
            : [new AccessLogConfig(new ConfigValue("logs/access.log", default), "combined", 0, null, null, default)];

        var entries = new AccessLogEntry[configs.Count];
        for (var i = 0; i < configs.Count; i++)
        {
            var c = configs[i];
            SourceLocation? where = c.Where.File is null ? null : c.Where;
            if (!formats.TryGetValue(c.Format, out var format))
            {
                throw new ConfigException($"unknown log format \"{c.Format}\"", where);
            }

            var condition = c.Condition is null ? null : CompiledValue.Compile(c.Condition, scope);
            var buffer = c.BufferSize;
            var flush = c.Flush ?? TimeSpan.Zero;
            if (buffer == 0 && c.Flush is not null)
            {
                buffer = 64 * 1024; // nginx: "flush" without "buffer" uses a 64k buffer.
            }

            if (buffer > 0 && c.Flush is null)
            {
                flush = _options.DefaultFlush;
            }

            var pathValue = CompiledValue.Compile(c.Path, scope);
            if (!pathValue.IsConstant)
            {
                if (buffer > 0)
                {
                    throw new ConfigException("buffered logs cannot have variables in name", where);
                }

                entries[i] = new AccessLogEntry(null, pathValue, format, condition, c.Where);
                continue;
            }

            var path = FullPath(pathValue.Constant);
            if (opened.TryGetValue(path, out var existing))
            {
                // ngx_http_log_set_log: one file, one buffer.
                if (existing.BufferSize != buffer || existing.Flush != flush)
                {
                    throw new ConfigException($"access_log \"{path}\" already defined with conflicting parameters", where);
                }
            }
            else
            {
                existing = CurrentFile(path, buffer, flush) ?? OpenOrThrow(path, buffer, flush, where);
                opened[path] = existing;
            }

            entries[i] = new AccessLogEntry(existing, null, format, condition, c.Where);
        }

        return new AccessLogPlan(entries);
    }

    private LogFile? CurrentFile(string path, int buffer, TimeSpan flush)
    {
        lock (_lock)
        {
            return _files.TryGetValue(path, out var f) && f.BufferSize == buffer && f.Flush == flush ? f : null;
        }
    }

    /// <summary>
    /// No main <c>error_log</c>: nginx's compiled-in default <c>logs/error.log error</c>. Where
    /// that file cannot be opened (a prefix without logs/, the zero-config mode) we keep logging
    /// to stderr and say so, instead of refusing to start as nginx does.
    /// </summary>
    private ErrorLog.Target[] DefaultErrorTargets(Dictionary<string, LogFile> opened)
    {
        var path = FullPath("logs/error.log");
        LogFile? file;
        lock (_lock)
        {
            _errorFiles.TryGetValue(path, out file);
        }

        if (file is null)
        {
            var handle = LogHandle.TryOpen(path, out var error);
            if (handle is null)
            {
                ErrorLog.Write(LogLevel.Notice, error + ", logging to stderr");
                return [new ErrorLog.Target(_stderr, LogLevel.Error)];
            }

            file = NewFile(path, handle, 0, TimeSpan.Zero);
        }

        opened[path] = file;
        return [new ErrorLog.Target(file, LogLevel.Error)];
    }

    /// <summary>
    /// The model fills in nginx's default <c>logs/error.log</c> at line 0 of the main file when no
    /// <c>error_log</c> is written (and <c>-e</c> is at "command line"); that one may fall back to stderr.
    /// </summary>
    private bool IsImplicitDefault(IReadOnlyList<ErrorLogConfig> configs)
        => configs.Count == 1
           && configs[0] is { Where: { File: not null, Line: 0 } where } c
           && where != SourceLocation.CommandLine
           && c.Level == LogLevel.Error
           && Path.GetFullPath(c.File) == Path.GetFullPath(FullPath("logs/error.log"));

    private ErrorLog.Target[] OpenErrorTargets(IReadOnlyList<ErrorLogConfig> configs, Dictionary<string, LogFile> opened)
    {
        var targets = new ErrorLog.Target[configs.Count];
        for (var i = 0; i < configs.Count; i++)
        {
            var c = configs[i];
            var path = FullPath(c.File);
            if (!opened.TryGetValue(path, out var file))
            {
                lock (_lock)
                {
                    _errorFiles.TryGetValue(path, out file);
                }

                file ??= path == "stderr" ? _stderr : OpenOrThrow(path, 0, TimeSpan.Zero, c.Where.File is null ? null : c.Where);
                opened[path] = file;
            }

            targets[i] = new ErrorLog.Target(file, c.Level);
        }

        return targets;
    }

    private LogFile OpenOrThrow(string path, int buffer, TimeSpan flush, SourceLocation? where)
    {
        var handle = LogHandle.TryOpen(path, out var error) ?? throw new ConfigException(error!, where);
        return NewFile(path, handle, buffer, flush);
    }

    private LogFile NewFile(string path, LogHandle handle, int buffer, TimeSpan flush)
        => new(_writer, path, handle, buffer, flush, _options.MaxPendingBytes, _options.FullQueuePolicy);

    private string FullPath(string path)
    {
        if (path is "stdout" or "stderr" || Path.IsPathRooted(path))
        {
            return path;
        }

        return Path.Combine(Prefix, path);
    }

    private ErrorLog.Target[]? RequestErrorTargets(RequestContext ctx)
    {
        var list = ctx.Settings.ErrorLogs;
        return list.Count > 0 && _errorTargets.TryGetValue(list, out var targets) ? targets : null;
    }

    // ------------------------------------------------------------------ per request

    /// <summary>
    /// Writes the access-log lines of a finished request, for the access logs of
    /// <c>ctx.Settings</c> (the location that finished the request). The line is built on the
    /// calling thread and queued; the call returns without waiting for the disk unless the
    /// queue is full (see <see cref="LogOptions.FullQueuePolicy"/>).
    /// </summary>
    public void Log(RequestContext ctx)
    {
        if (!_plans.TryGetValue(ctx.Settings, out var plan))
        {
            try
            {
                plan = Compile(ctx.Settings, _formats, _scope);
            }
            catch (ConfigException e)
            {
                ErrorLog.Write(LogLevel.Alert, ctx, e.Message);
                _plans.AddOrUpdate(ctx.Settings, AccessLogPlan.Off);
                return;
            }
        }

        Log(ctx, plan);
    }

    /// <summary>As <see cref="Log(RequestContext)"/> with a plan the caller compiled.</summary>
    public void Log(RequestContext ctx, AccessLogPlan plan)
    {
        if (plan.IsOff)
        {
            return;
        }

        using var time = Transport.LoopClock.HoldTurnOffLoop();
        var line = t_line ??= new ArrayBufferWriter<byte>(1024);
        foreach (var entry in plan.Entries)
        {
            if (entry.Condition is { } condition)
            {
                // if=COND: no line when the condition is "" or "0".
                var value = condition.Evaluate(ctx);
                if (value.Length == 0 || value == "0")
                {
                    continue;
                }
            }

            line.ResetWrittenCount();
            entry.Format.Write(ctx, line);
            var file = entry.File ?? VariableFile(ctx, entry);
            file?.Append(line.WrittenSpan);
        }

        if (line.Capacity > 1 << 20)
        {
            t_line = null; // do not keep one huge line's buffer per thread
        }
    }

    private LogFile? VariableFile(RequestContext ctx, AccessLogEntry entry)
    {
        var path = entry.PathValue!.Evaluate(ctx);

        // A request must not steer its log outside a plain path (nginx checks the name the same way for "\0").
        if (path.Length == 0 || path.Contains('\0', StringComparison.Ordinal) || path.Contains("/../", StringComparison.Ordinal) || path.EndsWith("/..", StringComparison.Ordinal))
        {
            Interlocked.Increment(ref _variablePathFailures);
            ErrorLog.Write(LogLevel.Error, ctx, $"invalid log file name \"{path}\"");
            return null;
        }

        path = FullPath(path);
        LogFile? evicted = null;
        LogFile? file = null;
        string? openError;
        lock (_lock)
        {
            var use = ++_useCounter;
            if (_variableFiles.TryGetValue(path, out var cached))
            {
                _variableFiles[path] = (cached.File, use);
                return cached.File;
            }

            var handle = LogHandle.TryOpen(path, out openError);
            if (handle is not null)
            {
                file = NewFile(path, handle, 0, TimeSpan.Zero);
                if (_variableFiles.Count >= _options.VariablePathCacheSize)
                {
                    var oldest = _variableFiles.MinBy(kv => kv.Value.LastUse);
                    _variableFiles.Remove(oldest.Key);
                    evicted = oldest.Value.File;
                    if (_retired.Count > 4 * _options.VariablePathCacheSize)
                    {
                        _retired.RemoveAll(f => f.IsIdle);
                    }

                    _retired.Add(evicted);
                }

                _variableFiles[path] = (file, use);
            }
        }

        if (file is null)
        {
            // Outside the lock: the error log may have to wait for its own queue.
            Interlocked.Increment(ref _variablePathFailures);
            ErrorLog.Write(LogLevel.Error, ctx, openError!);
            return null;
        }

        if (evicted is not null)
        {
            _ = evicted.RetireAsync();
        }

        return file;
    }

    // ------------------------------------------------------------------ lifecycle

    /// <summary><c>-s reopen</c> / SIGUSR1: see <see cref="ReopenAsync"/>; does not wait.</summary>
    public void Reopen() => _ = ReopenAsync();

    /// <summary>
    /// Writes what is queued, then opens every file again by its path (after logrotate renamed
    /// it, new lines go to the new file). A file that cannot be opened keeps its old handle and
    /// an <c>[emerg] open() ... failed</c> line goes to the error log; nothing throws.
    /// </summary>
    public Task ReopenAsync()
    {
        List<LogFile> files;
        List<LogFile> variable;
        lock (_lock)
        {
            files = [.. _files.Values, .. _extraFiles, .. _errorFiles.Values];
            variable = [.. _variableFiles.Values.Select(v => v.File), .. _retired];
            _retired.AddRange(_variableFiles.Values.Select(v => v.File));
            _variableFiles.Clear();
        }

        var tasks = new List<Task>(files.Count + variable.Count);
        tasks.AddRange(files.Distinct().Select(f => f.ReopenAsync()));
        tasks.AddRange(variable.Select(f => f.RetireAsync()));
        return Task.WhenAll(tasks);
    }

    /// <summary>Completes when every line queued before the call is written.</summary>
    public Task FlushAsync()
    {
        List<LogFile> files;
        lock (_lock)
        {
            files = [.. _files.Values, .. _extraFiles, .. _errorFiles.Values, .. _variableFiles.Values.Select(v => v.File), .. _retired, _stderr];
        }

        return Task.WhenAll(files.Select(f => f.FlushAsync()));
    }

    /// <summary>Graceful stop: writes everything queued, closes the files and stops the writer thread.</summary>
    public async ValueTask DisposeAsync()
    {
        List<LogFile> files;
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            files = [.. _files.Values, .. _extraFiles, .. _errorFiles.Values, .. _variableFiles.Values.Select(v => v.File), .. _retired];
        }

        await Task.WhenAll(files.Distinct().Select(f => f.CloseAsync())).ConfigureAwait(false);

        // After the writer stops nothing could drain stderr's queue; closing it makes later
        // error-log calls count as dropped instead of waiting forever on a full queue.
        await _stderr.CloseAsync().ConfigureAwait(false);
        await Task.Run(_writer.Dispose).ConfigureAwait(false);
    }
}
