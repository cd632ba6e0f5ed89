using Portico.Config;
using Portico.Config.Model;
using Portico.Server.Logging;
using static Portico.Server.Tests.Logging.LogManagerTests;

namespace Portico.Server.Tests.Logging;

/// <summary>
/// An unbuffered log in a regular file is written by the request's own thread, one write() per line, as nginx does
/// (ngx_http_log_write); pipes and FIFOs stay with the writer thread, so a slow reader never stalls a request.
/// </summary>
public sealed class UnbufferedLogWriteTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);
    private readonly string _dir = Directory.CreateTempSubdirectory("portico-log-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task A_line_is_in_the_file_when_the_request_logs_it()
    {
        var path = Path.Combine(_dir, "access.log");
        var settings = With(Access(path));
        await using var manager = new LogManager(_dir);
        manager.Load(LogManagerTests.Config(_dir, settings));
        for (var i = 0; i < 20; i++)
        {
            manager.Log(Request(settings, "/r" + i));

            // No wait, no flush: the write happened in Log.
            var lines = File.ReadAllLines(path);
            Assert.Equal(i + 1, lines.Length);
            Assert.Contains($"\"GET /r{i} HTTP/1.1\"", lines[i], StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_fifo_nobody_reads_never_blocks_the_request()
    {
        var path = Path.Combine(_dir, "fifo");
        Assert.Equal(0, MkFifo(path, 0x1B6));
        var opening = Task.Run(() => new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1));
        var settings = With(Access(path, "big"));
        var formats = new Dictionary<string, LogFormatConfig> { ["big"] = new("big", LogEscape.Default, new ConfigValue(new string('y', 999), default)) };
        var manager = new LogManager(_dir, options: new LogOptions { MaxPendingBytes = 1 << 20 });
        manager.Load(LogManagerTests.Config(_dir, settings, formats: formats));
        using var reader = await opening.WaitAsync(s_timeout);

        // 200 KB: three times what the pipe holds. Written by the request's thread, the fourth 64 KB would block it.
        var logging = Task.Run(() =>
        {
            for (var i = 0; i < 200; i++)
            {
                manager.Log(Request(settings));
            }
        });
        await logging.WaitAsync(s_timeout);

        var drained = DrainAsync(reader);
        await manager.DisposeAsync().AsTask().WaitAsync(s_timeout);
        Assert.Equal(200 * 1000, await drained.WaitAsync(s_timeout));
    }

    [Fact]
    public async Task A_failed_write_is_counted_and_reported_in_the_error_log()
    {
        // /dev/full (Linux) fails every write with ENOSPC, and can seek, so the request's thread writes to it.
        var errors = Path.Combine(_dir, "error.log");
        var settings = With(Access("/dev/full"));
        await using var manager = new LogManager(_dir);
        manager.Load(LogManagerTests.Config(_dir, settings, [new ErrorLogConfig(errors, LogLevel.Error, default)]));
        manager.Log(Request(settings, "/lost"));

        var file = manager.Files.Single(f => f.Path == "/dev/full");
        Assert.Equal(1, file.WriteErrors);
        Assert.True(file.LostBytes > 0);
        var error = await WaitForContent(errors, t => t.Length > 0);
        Assert.Matches(@"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[alert\] \d+#\d+: write\(\) to ""/dev/full"" failed \(28: No space left on device\)\n$", error);
    }

    [Fact]
    public async Task Lines_logged_around_a_reopen_that_waits_for_the_writer_keep_their_order()
    {
        // The writer thread is stuck on a FIFO nobody reads, so the reopen of the regular file waits in its queue; lines
        // logged meanwhile must queue behind it, and lines after it must not overtake them.
        var fifo = Path.Combine(_dir, "fifo");
        Assert.Equal(0, MkFifo(fifo, 0x1B6));
        var opening = Task.Run(() => new FileStream(fifo, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1));
        var path = Path.Combine(_dir, "access.log");
        var settings = With(Access(path), Access(fifo, "big"));
        var formats = new Dictionary<string, LogFormatConfig> { ["big"] = new("big", LogEscape.Default, new ConfigValue(new string('y', 999), default)) };
        var manager = new LogManager(_dir, options: new LogOptions { MaxPendingBytes = 1 << 20 });
        manager.Load(LogManagerTests.Config(_dir, settings, formats: formats));
        using var reader = await opening.WaitAsync(s_timeout);
        for (var i = 0; i < 100; i++)
        {
            manager.Log(Request(settings, "/fill" + i)); // 100 KB to the FIFO: the writer blocks on it
        }

        var reopen = manager.ReopenAsync();
        for (var i = 0; i < 5; i++)
        {
            manager.Log(Request(settings, "/during" + i));
        }

        var drain = DrainAsync(reader);
        await reopen.WaitAsync(s_timeout);
        manager.Log(Request(settings, "/after"));
        await manager.DisposeAsync().AsTask().WaitAsync(s_timeout);

        var order = File.ReadAllLines(path).Select(l => l.Split('"')[1].Split(' ')[1]).ToArray();
        string[] expected = [.. Enumerable.Range(0, 100).Select(i => "/fill" + i), .. Enumerable.Range(0, 5).Select(i => "/during" + i), "/after"];
        Assert.Equal(expected, order);
        await drain.WaitAsync(s_timeout);
    }
}
