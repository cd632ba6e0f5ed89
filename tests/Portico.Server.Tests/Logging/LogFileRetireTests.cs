using Portico.Server.Logging;

namespace Portico.Server.Tests.Logging;

/// <summary>
/// A file retired by a reload (its handle closed) that a request still on the old configuration
/// appends to, then a graceful stop: the accepted line must reach the disk.
/// </summary>
public sealed class LogFileRetireTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(10);
    private readonly string _dir = Directory.CreateTempSubdirectory("portico-retire-").FullName;

    [Fact]
    public async Task Line_appended_after_retire_is_written_by_close()
    {
        using var writer = new LogWriter(TimeProvider.System);
        var path = Path.Combine(_dir, "old.log");
        var file = new LogFile(writer, path, LogHandle.TryOpen(path, out _)!, 4096, TimeSpan.FromHours(1), 1 << 20, FullQueuePolicy.Wait);
        Assert.True(file.Append("before-reload\n"u8));
        await file.RetireAsync().WaitAsync(s_timeout);

        // Buffered (4096 bytes, flush=1h): it waits in memory until the stop.
        Assert.True(file.Append("in-flight\n"u8));
        await file.CloseAsync().WaitAsync(s_timeout);

        Assert.Equal("before-reload\nin-flight\n", await File.ReadAllTextAsync(path));
        Assert.Equal(0, file.WriteErrors);
    }

    public void Dispose() => Directory.Delete(_dir, recursive: true);
}
