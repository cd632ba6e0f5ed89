using System.Net;
using System.Net.Sockets;
using System.Runtime.ExceptionServices;
using Portico.FastCgi.Client;
using Portico.FastCgi.Tests.Infrastructure;

namespace Portico.FastCgi.Tests;

/// <summary>
/// <see cref="FastCgiClient.TrySendAsync"/>: what <see cref="FastCgiClient.SendAsync"/> throws as a
/// <see cref="FastCgiException"/> comes back as a value, and a refusal a connector reports as a value is never
/// thrown on its way up (a proxy meets it on every request while its backend is down).
/// </summary>
public sealed class TrySendTests
{
    private static FastCgiRequest Request() => new FastCgiRequest().Add("SCRIPT_FILENAME", "/x.php").Add("REQUEST_METHOD", "GET");

    [Fact]
    public async Task A_refused_connect_is_returned_as_connect_failed()
    {
        await using var client = new FastCgiClient(FastCgiEndPoint.Tcp("127.0.0.1", ClosedPort()));
        var result = await client.TrySendAsync(Request(), Serve.TestTimeout());

        Assert.False(result.Succeeded);
        Assert.Null(result.Response);
        Assert.Equal(FastCgiErrorKind.ConnectFailed, result.Failure.Kind);
        Assert.Equal(SocketError.ConnectionRefused, Assert.IsAssignableFrom<SocketException>(result.Failure.InnerException).SocketErrorCode);
        Assert.Equal(0, client.Pool.OpenCount);
    }

    [Fact]
    public async Task A_refusal_the_connector_returns_is_not_thrown_between_it_and_the_caller()
    {
        var connector = new RefusingConnector();
        var poolOptions = new FastCgiPoolOptions { Connector = connector };
        await using var client = new FastCgiClient(FastCgiEndPoint.Tcp("127.0.0.1", 9), poolOptions: poolOptions);

        var thrown = new List<Exception>();
        var inThisFlow = new AsyncLocal<bool> { Value = true };
        EventHandler<FirstChanceExceptionEventArgs> record = (_, e) =>
        {
            // Other tests run in parallel: only exceptions raised in this test's async flow count.
            if (inThisFlow.Value)
            {
                lock (thrown)
                {
                    thrown.Add(e.Exception);
                }
            }
        };
        AppDomain.CurrentDomain.FirstChanceException += record;
        FastCgiResult result;
        try
        {
            result = await client.TrySendAsync(Request(), Serve.TestTimeout());
        }
        finally
        {
            AppDomain.CurrentDomain.FirstChanceException -= record;
        }

        Assert.Equal(1, connector.Calls);
        Assert.Equal(FastCgiErrorKind.ConnectFailed, result.Failure?.Kind);
        Assert.Same(connector.Refusal, result.Failure!.InnerException);
        Assert.Empty(thrown);
    }

    [Fact]
    public async Task SendAsync_still_throws_what_TrySendAsync_returns()
    {
        var poolOptions = new FastCgiPoolOptions { Connector = new RefusingConnector() };
        await using var client = new FastCgiClient(FastCgiEndPoint.Tcp("127.0.0.1", 9), poolOptions: poolOptions);
        var ex = await Assert.ThrowsAsync<FastCgiException>(() => client.SendAsync(Request(), Serve.TestTimeout()));
        Assert.Equal(FastCgiErrorKind.ConnectFailed, ex.Kind);
    }

    [Fact]
    public async Task A_backend_that_closes_without_answering_is_returned_as_a_failure()
    {
        await using var server = new FakeFastCgiServer(Serve.AfterRequest(_ => Task.CompletedTask));
        await using var client = new FastCgiClient(server.EndPoint);
        var result = await client.TrySendAsync(Request(), Serve.TestTimeout());

        Assert.Null(result.Response);
        Assert.Contains(result.Failure?.Kind, new FastCgiErrorKind?[] { FastCgiErrorKind.BackendClosed, FastCgiErrorKind.ProtocolError });
    }

    [Fact]
    public async Task A_read_timeout_is_returned_as_a_timeout()
    {
        await using var server = new FakeFastCgiServer(Serve.AfterRequest(c => Task.Delay(Timeout.Infinite, c.Stopping)));
        await using var client = new FastCgiClient(server.EndPoint, new FastCgiClientOptions { ReadTimeout = TimeSpan.FromMilliseconds(200) });
        var result = await client.TrySendAsync(Request(), Serve.TestTimeout());

        Assert.Equal(FastCgiErrorKind.ReadTimeout, result.Failure?.Kind);
        Assert.True(result.Failure!.IsTimeout);
    }

    [Fact]
    public async Task An_oversized_param_is_returned_before_any_connect()
    {
        var connector = new RefusingConnector();
        await using var client = new FastCgiClient(FastCgiEndPoint.Tcp("127.0.0.1", 9), poolOptions: new FastCgiPoolOptions { Connector = connector });
        var result = await client.TrySendAsync(Request().Add("HTTP_COOKIE", new string('c', 70_000)), Serve.TestTimeout());

        Assert.Equal(FastCgiErrorKind.ParamTooLarge, result.Failure?.Kind);
        Assert.Equal(0, connector.Calls);
    }

    [Fact]
    public async Task A_response_is_returned_as_one()
    {
        await using var server = new FakeFastCgiServer(Serve.Responding("Status: 201 Made\nA: b\n\nbody"));
        await using var client = new FastCgiClient(server.EndPoint);
        var result = await client.TrySendAsync(Request(), Serve.TestTimeout());

        Assert.True(result.Succeeded);
        Assert.Null(result.Failure);
        await using var response = result.Response;
        Assert.Equal(201, response.StatusCode);
        Assert.Equal("body", await Serve.ReadBodyAsync(response, Serve.TestTimeout()));
    }

    private static int ClosedPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>A connector that reports every connect refused, as a value (as the server's event-loop one does).</summary>
    private sealed class RefusingConnector : FastCgiConnector
    {
        private int _calls;

        public SocketException Refusal { get; } = new((int)SocketError.ConnectionRefused);

        public int Calls => Volatile.Read(ref _calls);

        public override ValueTask<FastCgiSocket> ConnectAsync(EndPoint target, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("TrySendAsync must ask TryConnectAsync.");

        public override async ValueTask<(FastCgiSocket? Socket, SocketException? Failure)> TryConnectAsync(EndPoint target, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _calls);
            await Task.Yield(); // complete asynchronously, as a real connect does
            return (null, Refusal);
        }
    }
}
