using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;
using Portico.Server.FastCgi;

namespace Portico.Server.Tests.FastCgi;

/// <summary>
/// client_body_timeout as nginx times it: only while a read waits for the client. A read that waits longer fails
/// with Kestrel's 408; time between reads (the body going to a backend) never counts; zero means no timer; the
/// caller's own cancellation stays a cancellation.
/// </summary>
public sealed class ClientBodyTimeoutStreamTests
{
    [Fact]
    public async Task A_read_that_waits_longer_than_the_timeout_fails_with_408()
    {
        var pipe = new Pipe();
        await using var body = new ClientBodyTimeoutStream(pipe.Reader.AsStream(), TimeSpan.FromMilliseconds(200));
        var started = System.Diagnostics.Stopwatch.StartNew();

        var error = await Assert.ThrowsAsync<BadHttpRequestException>(async () => Assert.Fail($"read {await body.ReadAsync(new byte[16])} bytes"));
        Assert.Equal(StatusCodes.Status408RequestTimeout, error.StatusCode);
        Assert.InRange(started.Elapsed, TimeSpan.FromMilliseconds(150), TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Time_between_reads_does_not_count_and_each_read_gets_the_whole_timeout()
    {
        var pipe = new Pipe();
        await using var body = new ClientBodyTimeoutStream(pipe.Reader.AsStream(), TimeSpan.FromMilliseconds(1500));
        var buffer = new byte[16];
        for (var i = 0; i < 2; i++)
        {
            // The caller is busy elsewhere for longer than the timeout, then the client answers well within it (a
            // wide margin for a busy test machine: the other tests run alongside, and a clean-clone CI run once saw a
            // 100 ms write come after 600 ms).
            await Task.Delay(1600);
            var writing = WriteLaterAsync(pipe.Writer, TimeSpan.FromMilliseconds(50));
            Assert.Equal(1, await body.ReadAsync(buffer));
            await writing;
        }
    }

    [Fact]
    public async Task Zero_reads_without_a_timer()
    {
        var pipe = new Pipe();
        await using var body = new ClientBodyTimeoutStream(pipe.Reader.AsStream(), TimeSpan.Zero);
        var writing = WriteLaterAsync(pipe.Writer, TimeSpan.FromMilliseconds(300));
        Assert.Equal(1, await body.ReadAsync(new byte[16]));
        await writing;
    }

    [Fact]
    public async Task The_callers_cancellation_stays_a_cancellation()
    {
        var pipe = new Pipe();
        await using var body = new ClientBodyTimeoutStream(pipe.Reader.AsStream(), TimeSpan.FromSeconds(30));
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => Assert.Fail($"read {await body.ReadAsync(new byte[16], cts.Token)} bytes"));
    }

    private static async Task WriteLaterAsync(PipeWriter writer, TimeSpan delay)
    {
        await Task.Delay(delay);
        await writer.WriteAsync(new byte[] { 42 });
    }
}
