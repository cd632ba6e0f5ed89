using System.Buffers;
using System.IO.Pipelines;
using Portico.Server.FastCgi;

namespace Portico.Server.Tests.FastCgi;

/// <summary>The temp file between a backend and a slow client: a queue that keeps the bytes in order, holds at most
/// fastcgi_max_temp_file_size not yet sent, starts over once read back, and stops when the client goes.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
[Collection(nameof(ResponseSpillTests))]
public sealed class ResponseSpillTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "portico-spill-" + Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    [Fact]
    public async Task A_response_far_larger_than_the_file_reaches_the_client_whole_and_in_order()
    {
        // A client pipe that takes 8 KiB before a flush waits: the client is slower than the backend.
        var client = new Pipe(new PipeOptions(pauseWriterThreshold: 8192, resumeWriterThreshold: 4096, useSynchronizationContext: false));
        client.Writer.Write(new byte[10_000]);
        var pending = client.Writer.FlushAsync();
        Assert.False(pending.IsCompleted);

        const int max = 100_000;
        var spill = ResponseSpill.TryCreate(_directory, max, out var failure);
        Assert.Null(failure);
        Assert.NotNull(spill);
        spill.Start(client.Writer, pending, CancellationToken.None);

        var expected = new byte[1_000_003];
        new Random(42).NextBytes(expected);
        var reading = ReadAllAsync(client.Reader, slowly: true);
        for (var at = 0; at < expected.Length; at += 7919)
        {
            Assert.True(await spill.AppendAsync(expected.AsMemory(at, Math.Min(7919, expected.Length - at))));
            Assert.True(new FileInfo($"/proc/self/fd/{Handle(spill)}").Length <= max, "the file holds more than its maximum");
        }

        spill.EndOfResponse();
        await spill.DrainedAsync().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(spill.ClientGone);
        Assert.Equal(expected.Length, spill.Sent);
        await spill.DisposeAsync();
        await client.Writer.CompleteAsync();

        var received = await reading;
        Assert.Equal(10_000 + expected.Length, received.Length);
        Assert.True(received.AsSpan(10_000).SequenceEqual(expected), "the bytes differ");
    }

    [Fact]
    public async Task A_client_that_keeps_pace_gets_the_bytes_in_order_while_the_file_starts_over_and_over()
    {
        // The race to catch: the drain has caught up, the backend's side starts the file over, and the drain must not
        // read the new bytes in place of the ones it had claimed.
        var expected = new byte[64 * 1024];
        new Random(7).NextBytes(expected);
        for (var run = 0; run < 1000; run++)
        {
            var client = new Pipe(new PipeOptions(pauseWriterThreshold: 4096, resumeWriterThreshold: 2048, useSynchronizationContext: false));
            client.Writer.Write(new byte[5000]);
            var pending = client.Writer.FlushAsync();
            var spill = ResponseSpill.TryCreate(_directory, 1024 * 1024, out _)!;
            spill.Start(client.Writer, pending, CancellationToken.None);
            var reading = Task.Run(() => ReadAllAsync(client.Reader, slowly: false));
            for (var at = 0; at < expected.Length; at += 97)
            {
                Assert.True(await spill.AppendAsync(expected.AsMemory(at, Math.Min(97, expected.Length - at))));
            }

            spill.EndOfResponse();
            await spill.DrainedAsync().WaitAsync(TimeSpan.FromSeconds(30));
            await spill.DisposeAsync();
            await client.Writer.CompleteAsync();
            var received = await reading;
            Assert.True(received.AsSpan(5000).SequenceEqual(expected), $"run {run}: the bytes differ");
        }
    }

    [Fact]
    public async Task A_client_that_goes_away_stops_the_appends()
    {
        var client = new Pipe(new PipeOptions(pauseWriterThreshold: 8192, resumeWriterThreshold: 4096, useSynchronizationContext: false));
        client.Writer.Write(new byte[10_000]);
        var pending = client.Writer.FlushAsync();
        var spill = ResponseSpill.TryCreate(_directory, 64 * 1024, out _)!;
        spill.Start(client.Writer, pending, CancellationToken.None);

        // The file fills up, and the backend's side waits for room ...
        var chunk = new byte[16 * 1024];
        var appends = 0;
        Task<bool> append;
        while ((append = spill.AppendAsync(chunk).AsTask()).IsCompleted)
        {
            Assert.True(await append);
            appends++;
        }

        Assert.Equal(4, appends);

        // ... until the client goes: then it learns that nobody takes the bytes any more.
        await client.Reader.CompleteAsync();
        Assert.False(await append.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.True(spill.ClientGone);
        Assert.False(await spill.AppendAsync(chunk));
        await spill.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task The_file_is_the_servers_alone_and_has_no_name()
    {
        var spill = ResponseSpill.TryCreate(Path.Combine(_directory, "a", "b"), 1024, out _)!;
        try
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.Combine(_directory, "a", "b")));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode($"/proc/self/fd/{Handle(spill)}"));
            Assert.False(File.Exists(spill.Path));
            Assert.Empty(Directory.GetFiles(Path.Combine(_directory, "a", "b")));
        }
        finally
        {
            await spill.DisposeAsync();
        }
    }

    [Fact]
    public void A_directory_that_cannot_be_made_is_reported_with_the_path()
    {
        Directory.CreateDirectory(_directory);
        var file = Path.Combine(_directory, "file");
        File.WriteAllText(file, "");

        var spill = ResponseSpill.TryCreate(Path.Combine(file, "temp"), 1024, out var failure);

        Assert.Null(spill);
        Assert.StartsWith($"open() \"{file}/temp/portico-fastcgi-", failure, StringComparison.Ordinal);
    }

    /// <summary>The spill's file descriptor (its temp file has no name to look at).</summary>
    private static int Handle(ResponseSpill spill) => (int)spill.FileHandle.DangerousGetHandle();

    private static async Task<byte[]> ReadAllAsync(PipeReader reader, bool slowly)
    {
        using var all = new MemoryStream();
        while (true)
        {
            var result = await reader.ReadAsync();
            foreach (var segment in result.Buffer)
            {
                all.Write(segment.Span);
            }

            reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                return all.ToArray();
            }

            if (slowly)
            {
                await Task.Delay(1);
            }
        }
    }
}

/// <summary>The spill's race test keeps both cores busy for a second: it runs alone, not beside the timing tests.</summary>
[CollectionDefinition(nameof(ResponseSpillTests), DisableParallelization = true)]
public sealed class ResponseSpillCollection;

