using System.Net;
using Portico.Server.Hosting;
using Portico.Server.Transport;

namespace Portico.Server.Tests.Hosting;

/// <summary>A keepalive_timeout shorter than Kestrel's (ClientConnection.CloseWhenIdleFor): the wait closes an idle
/// connection, a request begun keeps it, and bytes that begin no request start the wait over.</summary>
public sealed class IdleCloseTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMilliseconds(400);

    [Fact]
    public async Task An_idle_connection_is_closed_after_the_timeout_not_before()
    {
        var transport = new FakeTransport();
        var connection = Connect(transport);
        connection.CloseWhenIdleFor(Timeout);
        await Task.Delay(100);
        Assert.False(transport.Closed.IsCompleted);
        await transport.Closed.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_request_begun_keeps_the_connection()
    {
        var transport = new FakeTransport();
        var connection = Connect(transport);
        connection.CloseWhenIdleFor(Timeout);
        connection.NextRequest();
        await Task.Delay(Timeout * 3);
        Assert.False(transport.Closed.IsCompleted);
    }

    [Fact]
    public async Task Bytes_that_begin_no_request_start_the_wait_over()
    {
        var transport = new FakeTransport();
        var connection = Connect(transport);
        connection.CloseWhenIdleFor(Timeout);
        await Task.Delay(Timeout / 2);
        Interlocked.Increment(ref transport.Receives);
        var bytesAt = DateTime.UtcNow;
        await transport.Closed.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(DateTime.UtcNow - bytesAt >= Timeout * 0.9, $"closed {DateTime.UtcNow - bytesAt} after the bytes");
    }

    [Fact]
    public async Task A_timeout_as_long_as_kestrels_is_left_to_kestrel()
    {
        var transport = new FakeTransport();
        var connection = ClientConnection.Create(new IPEndPoint(IPAddress.Loopback, 80), new IPEndPoint(IPAddress.Loopback, 5000), idleClose: transport, transportIdleTimeout: Timeout);
        connection.CloseWhenIdleFor(Timeout);
        await Task.Delay(Timeout * 3);
        Assert.False(transport.Closed.IsCompleted);
        Assert.Equal(Timeout, connection.IdleLimit);
    }

    private static ClientConnection Connect(FakeTransport transport) =>
        ClientConnection.Create(new IPEndPoint(IPAddress.Loopback, 80), new IPEndPoint(IPAddress.Loopback, 5000), idleClose: transport, transportIdleTimeout: TimeSpan.FromSeconds(30));

    private sealed class FakeTransport : IClientIdleClose
    {
        public long Receives;
        private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Closed => _closed.Task;

        public long ReceiveCount => Interlocked.Read(ref Receives);

        public void CloseIdle() => _closed.TrySetResult();
    }
}
