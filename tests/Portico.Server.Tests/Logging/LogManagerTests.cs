using System.Text.RegularExpressions;
using Portico.Config;
using Portico.Config.Model;
using Portico.Server.Logging;
using Portico.Server.Phases;
using Portico.Server.Tests.Variables;
using Portico.Server.Variables;

namespace Portico.Server.Tests.Logging;

public sealed partial class LogManagerTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);
    private readonly string _dir = Directory.CreateTempSubdirectory("portico-log-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    internal static AccessLogConfig Access(string path, string format = "combined", int buffer = 0, TimeSpan? flush = null, string? condition = null, int line = 12)
        => new(new ConfigValue(path, new SourceLocation("/etc/portico/site.conf", line)), format, buffer, flush,
            condition is null ? null : new ConfigValue(condition, default), new SourceLocation("/etc/portico/site.conf", line));

    internal static PorticoConfig Config(string prefix, LocationSettings settings, IReadOnlyList<ErrorLogConfig>? errorLogs = null, Dictionary<string, LogFormatConfig>? formats = null)
        => new()
        {
            FilePath = "/etc/portico/site.conf",
            Prefix = prefix,
            ErrorLogs = errorLogs ?? [],
            Http = new HttpConfig
            {
                Servers = [TestRequests.Server(settings)],
                LogFormats = formats ?? new Dictionary<string, LogFormatConfig>(),
                Upstreams = new Dictionary<string, UpstreamConfig>(),
                Settings = settings,
            },
        };

    internal static LocationSettings With(params AccessLogConfig[] logs) => new() { Root = new ConfigValue("/srv/www", default), AccessLogs = logs };

    internal static RequestContext Request(LocationSettings settings, string target = "/x")
    {
        var ctx = TestRequests.Get(target, server: TestRequests.Server(settings));
        ctx.Settings = settings;
        return ctx;
    }

    internal static async Task<string> WaitForContent(string path, Func<string, bool> done)
    {
        var deadline = DateTime.UtcNow + s_timeout;
        while (true)
        {
            var text = File.Exists(path) ? await File.ReadAllTextAsync(path) : "";
            if (done(text) || DateTime.UtcNow > deadline)
            {
                return text;
            }

            await Task.Delay(20);
        }
    }

    [GeneratedRegex(@"^T(\d+) L(\d+) x{100}$")]
    private static partial Regex LoadLine();

    [Fact]
    public async Task Many_concurrent_writers_lose_no_line_and_tear_none()
    {
        var path = Path.Combine(_dir, "load.log");
        var settings = With(Access(path, "load"));
        var formats = new Dictionary<string, LogFormatConfig>
        {
            ["load"] = new("load", LogEscape.Default, new ConfigValue("$http_x_t $http_x_l " + new string('x', 100), default)),
        };

        // A small queue bound forces the backpressure path too.
        var manager = new LogManager(_dir, options: new LogOptions { MaxPendingBytes = 16 * 1024 });
        manager.Load(Config(_dir, settings, formats: formats));
        const int tasks = 16;
        const int perTask = 1250;
        await Task.WhenAll(Enumerable.Range(0, tasks).Select(t => Task.Run(() =>
        {
            for (var i = 0; i < perTask; i++)
            {
                var ctx = Request(settings);
                ctx.Http.Request.Headers["X-T"] = "T" + t;
                ctx.Http.Request.Headers["X-L"] = "L" + i;
                manager.Log(ctx);
            }
        }))).WaitAsync(s_timeout);
        await manager.DisposeAsync().AsTask().WaitAsync(s_timeout);

        var content = await File.ReadAllTextAsync(path);
        Assert.EndsWith("\n", content, StringComparison.Ordinal);
        var lines = content[..^1].Split('\n');
        Assert.Equal(tasks * perTask, lines.Length);
        var next = new int[tasks];
        foreach (var line in lines)
        {
            var m = LoadLine().Match(line);
            Assert.True(m.Success, line);
            var t = int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(next[t]++, int.Parse(m.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture)); // per writer, in order
        }
    }

    [Fact]
    public async Task Reopen_after_rename_moves_new_lines_to_the_new_file()
    {
        var path = Path.Combine(_dir, "access.log");
        var settings = With(Access(path));
        await using var manager = new LogManager(_dir);
        manager.Load(Config(_dir, settings));
        for (var i = 0; i < 10; i++)
        {
            manager.Log(Request(settings, "/before" + i));
        }

        // logrotate: rename, then signal; lines logged in between may land in either file.
        File.Move(path, path + ".1");
        for (var i = 0; i < 10; i++)
        {
            manager.Log(Request(settings, "/between" + i));
        }

        await manager.ReopenAsync().WaitAsync(s_timeout);
        for (var i = 0; i < 10; i++)
        {
            manager.Log(Request(settings, "/after" + i));
        }

        await manager.FlushAsync().WaitAsync(s_timeout);
        var rotated = await File.ReadAllTextAsync(path + ".1");
        var fresh = await File.ReadAllTextAsync(path);
        Assert.Equal(10, Regex.Count(rotated, "/before"));
        Assert.Equal(0, Regex.Count(fresh, "/before"));
        Assert.Equal(10, Regex.Count(fresh, "/after"));
        Assert.Equal(0, Regex.Count(rotated, "/after"));
        Assert.Equal(10, Regex.Count(rotated + fresh, "/between"));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead, File.GetUnixFileMode(path));
        }
    }

    [Fact]
    public async Task Request_finishing_on_an_old_config_after_reload_still_logs_to_the_old_file()
    {
        var oldPath = Path.Combine(_dir, "old.log");
        var newPath = Path.Combine(_dir, "new.log");
        var oldSettings = With(Access(oldPath, buffer: 4096, flush: TimeSpan.FromHours(1)));
        var newSettings = With(Access(newPath));
        var manager = new LogManager(_dir);
        manager.Load(Config(_dir, oldSettings));
        manager.Log(Request(oldSettings, "/before-reload"));
        manager.Load(Config(_dir, newSettings));
        manager.Log(Request(oldSettings, "/in-flight"));
        manager.Log(Request(newSettings, "/after-reload"));
        await manager.DisposeAsync().AsTask().WaitAsync(s_timeout);
        var old = await File.ReadAllTextAsync(oldPath);
        Assert.Contains("/before-reload", old, StringComparison.Ordinal);
        Assert.Contains("/in-flight", old, StringComparison.Ordinal);
        Assert.Contains("/after-reload", await File.ReadAllTextAsync(newPath), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unopenable_file_at_load_is_a_config_error_with_location()
    {
        await using var manager = new LogManager(_dir);
        var path = Path.Combine(_dir, "missing", "access.log");
        var e = Assert.Throws<ConfigException>(() => manager.Load(Config(_dir, With(Access(path, line: 33)))));
        Assert.Equal($"open() \"{path}\" failed (2: No such file or directory) in /etc/portico/site.conf:33", e.Message);
    }

    [Fact]
    public async Task Unopenable_file_at_reopen_logs_an_error_and_keeps_writing_to_the_old_handle()
    {
        var sub = Path.Combine(_dir, "sub");
        Directory.CreateDirectory(sub);
        var path = Path.Combine(sub, "access.log");
        var errors = Path.Combine(_dir, "error.log");
        var settings = With(Access(path));
        await using var manager = new LogManager(_dir);
        manager.Load(Config(_dir, settings, [new ErrorLogConfig(errors, LogLevel.Error, default)]));
        manager.Log(Request(settings, "/one"));
        await manager.FlushAsync().WaitAsync(s_timeout);

        Directory.Move(sub, sub + "2"); // the open file moves along; the path no longer exists
        await manager.ReopenAsync().WaitAsync(s_timeout);
        manager.Log(Request(settings, "/two"));
        await manager.FlushAsync().WaitAsync(s_timeout);

        var moved = await File.ReadAllTextAsync(Path.Combine(sub + "2", "access.log"));
        Assert.Contains("/one", moved, StringComparison.Ordinal);
        Assert.Contains("/two", moved, StringComparison.Ordinal);
        var error = await File.ReadAllTextAsync(errors);
        Assert.Matches(@"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[emerg\] \d+#\d+: open\(\) "".*/sub/access.log"" failed \(2: No such file or directory\)\n$", error);
    }

    [Fact]
    public async Task Unbuffered_line_reaches_the_file_promptly_without_flush()
    {
        var time = new ManualTimeProvider(DateTimeOffset.UtcNow); // frozen: only the writer can move the line
        var path = Path.Combine(_dir, "prompt.log");
        var settings = With(Access(path));
        await using var manager = new LogManager(_dir, time);
        manager.Load(Config(_dir, settings));
        manager.Log(Request(settings, "/only"));
        var text = await WaitForContent(path, t => t.Length > 0);
        Assert.Contains("\"GET /only HTTP/1.1\"", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Buffered_log_waits_for_flush_time()
    {
        var time = new ManualTimeProvider(DateTimeOffset.UtcNow);
        var path = Path.Combine(_dir, "buffered.log");
        var settings = With(Access(path, buffer: 64 * 1024, flush: TimeSpan.FromSeconds(5)));
        await using var manager = new LogManager(_dir, time);
        manager.Load(Config(_dir, settings));
        manager.Log(Request(settings, "/a"));
        manager.Log(Request(settings, "/b"));
        await Task.Delay(300);
        Assert.Equal("", await File.ReadAllTextAsync(path));
        time.Advance(TimeSpan.FromSeconds(4));
        await Task.Delay(300);
        Assert.Equal("", await File.ReadAllTextAsync(path));
        time.Advance(TimeSpan.FromSeconds(1));
        var text = await WaitForContent(path, t => t.Contains("/b", StringComparison.Ordinal));
        Assert.Equal(2, text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
    }

    [Fact]
    public async Task Buffered_log_writes_when_the_buffer_is_full_without_time_passing()
    {
        var time = new ManualTimeProvider(DateTimeOffset.UtcNow);
        var path = Path.Combine(_dir, "full.log");
        var settings = With(Access(path, buffer: 1024, flush: TimeSpan.FromMinutes(5)));
        await using var manager = new LogManager(_dir, time);
        manager.Load(Config(_dir, settings));
        manager.Log(Request(settings, "/first"));
        await Task.Delay(200);
        Assert.Equal("", await File.ReadAllTextAsync(path));
        for (var i = 0; i < 20; i++)
        {
            manager.Log(Request(settings, "/fill" + i));
        }

        var text = await WaitForContent(path, t => t.Contains("/first", StringComparison.Ordinal));
        Assert.Contains("/first", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dispose_writes_buffered_lines()
    {
        var path = Path.Combine(_dir, "stop.log");
        var settings = With(Access(path, buffer: 64 * 1024, flush: TimeSpan.FromHours(1)));
        var manager = new LogManager(_dir, new ManualTimeProvider(DateTimeOffset.UtcNow));
        manager.Load(Config(_dir, settings));
        for (var i = 0; i < 100; i++)
        {
            manager.Log(Request(settings));
        }

        await manager.DisposeAsync().AsTask().WaitAsync(s_timeout);
        Assert.Equal(100, (await File.ReadAllLinesAsync(path)).Length);
    }

    [Fact]
    public async Task Condition_skips_lines_when_empty_or_zero()
    {
        var path = Path.Combine(_dir, "cond.log");
        var settings = With(Access(path, condition: "$arg_log"));
        await using var manager = new LogManager(_dir);
        manager.Load(Config(_dir, settings));
        manager.Log(Request(settings, "/none"));
        manager.Log(Request(settings, "/zero?log=0"));
        manager.Log(Request(settings, "/empty?log="));
        manager.Log(Request(settings, "/yes?log=1"));
        await manager.FlushAsync().WaitAsync(s_timeout);
        var lines = await File.ReadAllLinesAsync(path);
        Assert.Single(lines);
        Assert.Contains("/yes?log=1", lines[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Empty_access_log_list_means_prefix_logs_access_log_combined_and_off_means_none()
    {
        Directory.CreateDirectory(Path.Combine(_dir, "logs"));
        var settings = With();
        var off = new LocationSettings { Root = new ConfigValue("/srv", default), AccessLogOff = true };
        await using var manager = new LogManager(_dir);
        manager.Load(Config(_dir, settings));
        manager.Log(Request(settings));
        manager.Log(Request(off, "/off"));
        await manager.FlushAsync().WaitAsync(s_timeout);
        var lines = await File.ReadAllLinesAsync(Path.Combine(_dir, "logs", "access.log"));
        Assert.Single(lines);
        Assert.Matches(@"^127\.0\.0\.1 - - \[.+\] ""GET /x HTTP/1\.1"" 200 0 ""-"" ""curl/7\.88\.1""$", lines[0]);
    }

    [Fact]
    public async Task Config_errors_use_nginx_text()
    {
        await using var manager = new LogManager(_dir);
        var a = Path.Combine(_dir, "a.log");
        Assert.Equal("unknown log format \"main\" in /etc/portico/site.conf:12",
            Assert.Throws<ConfigException>(() => manager.Load(Config(_dir, With(Access(a, "main"))))).Message);
        Assert.Equal($"access_log \"{a}\" already defined with conflicting parameters in /etc/portico/site.conf:13",
            Assert.Throws<ConfigException>(() => manager.Load(Config(_dir, With(Access(a, buffer: 4096), Access(a, buffer: 8192, line: 13))))).Message);
        Assert.Equal("buffered logs cannot have variables in name in /etc/portico/site.conf:12",
            Assert.Throws<ConfigException>(() => manager.Load(Config(_dir, With(Access(_dir + "/$host.log", buffer: 4096))))).Message);
    }

    [Fact]
    public async Task Variable_paths_open_on_demand_through_a_bounded_cache()
    {
        var settings = With(Access(_dir + "/vhost-$http_x_site.log"));
        await using var manager = new LogManager(_dir, options: new LogOptions { VariablePathCacheSize = 2 });
        manager.Load(Config(_dir, settings));
        for (var round = 0; round < 3; round++)
        {
            for (var site = 0; site < 5; site++)
            {
                var ctx = Request(settings, $"/r{round}");
                ctx.Http.Request.Headers["X-Site"] = "s" + site;
                manager.Log(ctx);
            }
        }

        await manager.FlushAsync().WaitAsync(s_timeout);
        await manager.DisposeAsync();
        for (var site = 0; site < 5; site++)
        {
            var lines = await File.ReadAllLinesAsync(Path.Combine(_dir, $"vhost-s{site}.log"));
            Assert.Equal(["/r0", "/r1", "/r2"], lines.Select(l => Regex.Match(l, "GET (\\S+)").Groups[1].Value));
        }

        var bad = Request(settings);
        bad.Http.Request.Headers["X-Site"] = "x/../../etc";
        await using var second = new LogManager(_dir);
        second.Load(Config(_dir, settings));
        second.Log(bad);
        Assert.Equal(1, second.VariablePathFailures);
    }

    [Fact]
    public async Task Error_log_lines_have_nginx_format_and_level_filter()
    {
        var errors = Path.Combine(_dir, "error.log");
        var settings = With();
        Directory.CreateDirectory(Path.Combine(_dir, "logs"));
        var time = new ManualTimeProvider(new DateTimeOffset(2026, 11, 24, 10, 0, 0, TimeSpan.Zero));
        await using var manager = new LogManager(_dir, time);
        manager.Load(Config(_dir, settings, [new ErrorLogConfig(errors, LogLevel.Warn, default)]));
        var ctx = Request(settings, "/missing.html");
        ctx.Http.Request.Headers.Host = "example.com";
        ctx.Http.Request.Headers.Referer = "http://ref/";
        manager.ErrorLog.Write(LogLevel.Error, ctx, "open() \"/srv/www/missing.html\" failed (2: No such file or directory)");
        manager.ErrorLog.Write(LogLevel.Info, ctx, "filtered out");
        manager.ErrorLog.Write(LogLevel.Warn, "multi\nline");
        await manager.FlushAsync().WaitAsync(s_timeout);
        var lines = await File.ReadAllLinesAsync(errors);
        Assert.Equal(2, lines.Length);
        Assert.Matches(@"^2026/11/24 10:00:00 \[error\] \d+#\d+: \*42 open\(\) ""/srv/www/missing.html"" failed \(2: No such file or directory\), client: 127\.0\.0\.1, server: example\.com, request: ""GET /missing\.html HTTP/1\.1"", host: ""example\.com"", referrer: ""http://ref/""$", lines[0]);
        Assert.Matches(@"^2026/11/24 10:00:00 \[warn\] \d+#\d+: multi\\x0Aline$", lines[1]);
    }

    [Fact]
    public async Task Location_error_log_takes_the_request_messages()
    {
        var main = Path.Combine(_dir, "main-error.log");
        var local = Path.Combine(_dir, "local-error.log");
        Directory.CreateDirectory(Path.Combine(_dir, "logs"));
        var settings = new LocationSettings { Root = new ConfigValue("/srv", default), ErrorLogs = [new ErrorLogConfig(local, LogLevel.Error, default)] };
        await using var manager = new LogManager(_dir);
        manager.Load(Config(_dir, settings, [new ErrorLogConfig(main, LogLevel.Error, default)]));
        manager.ErrorLog.Write(LogLevel.Error, Request(settings), "from request");
        manager.ErrorLog.Write(LogLevel.Error, "global");
        await manager.FlushAsync().WaitAsync(s_timeout);
        Assert.Contains("from request", await File.ReadAllTextAsync(local), StringComparison.Ordinal);
        Assert.DoesNotContain("from request", await File.ReadAllTextAsync(main), StringComparison.Ordinal);
        Assert.Contains("global", await File.ReadAllTextAsync(main), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Before_any_config_the_error_log_writes_notice_and_above_to_stderr()
    {
        var fakeStderr = Path.Combine(_dir, "stderr.txt");
        var handle = LogHandle.TryOpen(fakeStderr, out _)!;
        var manager = new LogManager(_dir, options: new LogOptions { StandardError = handle });
        manager.ErrorLog.Write(LogLevel.Info, "too quiet");
        manager.ErrorLog.Write(LogLevel.Notice, "signal process started");
        await manager.DisposeAsync().AsTask().WaitAsync(s_timeout);
        manager.ErrorLog.Write(LogLevel.Emerg, "after dispose: dropped, never blocks");
        handle.Dispose();
        var lines = await File.ReadAllLinesAsync(fakeStderr);
        Assert.Single(lines);
        Assert.Matches(@"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[notice\] \d+#\d+: signal process started$", lines[0]);
    }

    [Fact]
    public async Task Closed_stderr_is_ignored()
    {
        // fd 1000 is not open in the test process: every write fails with EBADF.
        var manager = new LogManager(_dir, options: new LogOptions { StandardError = LogHandle.FromDescriptor(1000, owns: false) });
        for (var i = 0; i < 100; i++)
        {
            manager.ErrorLog.Write(LogLevel.Emerg, "nobody hears this");
        }

        await manager.FlushAsync().WaitAsync(s_timeout);
        var stderr = manager.Files.Single(f => f.Path == "stderr");
        Assert.Equal(100, stderr.Lines);
        Assert.True(stderr.WriteErrors > 0);
        await manager.DisposeAsync().AsTask().WaitAsync(s_timeout);
    }

    [Fact]
    public async Task Drop_policy_counts_dropped_lines_instead_of_waiting()
    {
        // A pipe nobody reads: the writer blocks once the pipe is full, the queue fills, lines drop.
        var path = Path.Combine(_dir, "fifo");
        Assert.Equal(0, MkFifo(path, 0x1B6));

        // Opening either end of a FIFO blocks until the other end opens.
        var opening = Task.Run(() => new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1));
        var settings = With(Access(path, "big"));
        var formats = new Dictionary<string, LogFormatConfig> { ["big"] = new("big", LogEscape.Default, new ConfigValue(new string('y', 1000), default)) };
        var manager = new LogManager(_dir, options: new LogOptions { MaxPendingBytes = 8 * 1024, FullQueuePolicy = FullQueuePolicy.Drop });
        manager.Load(Config(_dir, settings, formats: formats));
        using var reader = await opening.WaitAsync(s_timeout);
        for (var i = 0; i < 1000; i++)
        {
            manager.Log(Request(settings));
        }

        var file = manager.Files.Single(f => f.Path == path);
        Assert.True(file.Dropped > 0);
        Assert.Equal(1000, file.Lines + file.Dropped);

        // Drain the pipe so the writer finishes, then stop.
        var drain = DrainAsync(reader);
        await manager.DisposeAsync().AsTask().WaitAsync(s_timeout);
    }

    [Fact]
    public async Task Full_queue_makes_the_caller_wait_and_loses_nothing_by_default()
    {
        var path = Path.Combine(_dir, "slow-fifo");
        Assert.Equal(0, MkFifo(path, 0x1B6));
        var opening = Task.Run(() => new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1));
        var settings = With(Access(path, "big"));
        var formats = new Dictionary<string, LogFormatConfig> { ["big"] = new("big", LogEscape.Default, new ConfigValue(new string('y', 999), default)) };
        var manager = new LogManager(_dir, options: new LogOptions { MaxPendingBytes = 8 * 1024 });
        manager.Load(Config(_dir, settings, formats: formats));
        using var reader = await opening.WaitAsync(s_timeout);

        // The pipe holds 64 KiB and the queue 8 KiB: 200 lines of 1000 bytes cannot all fit.
        var logging = Task.Run(() =>
        {
            for (var i = 0; i < 200; i++)
            {
                manager.Log(Request(settings));
            }
        });
        await Task.Delay(500);
        Assert.False(logging.IsCompleted);
        var file = manager.Files.Single(f => f.Path == path);
        Assert.True(file.BackpressureWaits > 0);

        var drained = DrainAsync(reader);
        await logging.WaitAsync(s_timeout);
        await manager.DisposeAsync().AsTask().WaitAsync(s_timeout);
        Assert.Equal(200 * 1000, await drained.WaitAsync(s_timeout));
        Assert.Equal(0, file.Dropped);
    }

    /// <summary>Reads a FIFO to its end on another task; returns the bytes read.</summary>
    internal static Task<long> DrainAsync(Stream reader) => Task.Run(async () =>
    {
        var total = 0L;
        var buf = new byte[65536];
        int n;
        while ((n = await reader.ReadAsync(buf)) > 0)
        {
            total += n;
        }

        return total;
    });

    [System.Runtime.InteropServices.DllImport("libc.so.6", EntryPoint = "mkfifo", SetLastError = true)]
    internal static extern int MkFifo([System.Runtime.InteropServices.MarshalAs(System.Runtime.InteropServices.UnmanagedType.LPUTF8Str)] string path, int mode);
}
