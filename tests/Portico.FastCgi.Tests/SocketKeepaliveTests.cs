using Portico.FastCgi.Client;
using Portico.FastCgi.Tests.Infrastructure;

namespace Portico.FastCgi.Tests;

/// <summary>
/// <see cref="FastCgiClientOptions.SocketKeepAlive"/> (nginx's <c>fastcgi_socket_keepalive</c>) on the library's own
/// .NET sockets: SO_KEEPALIVE is on for the connections its requests open, which the kernel shows as the socket's
/// keepalive timer (<c>ss -o</c>), read while the backend holds the request.
/// </summary>
public sealed class SocketKeepaliveTests
{
    [RequiresTheory(SocketStats.Path)]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Connections_the_client_opens_have_keepalive_only_when_asked(bool keepAlive)
    {
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var answer = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = new FakeFastCgiServer(async c =>
        {
            if (await c.ReadRequestAsync() is null)
            {
                return;
            }

            arrived.TrySetResult();
            await answer.Task.WaitAsync(TimeSpan.FromSeconds(10));
            await c.SendAsync(Records.Response("A: b\n\nok"));
        });
        await using var client = new FastCgiClient(server.EndPoint, new FastCgiClientOptions { SocketKeepAlive = keepAlive });

        var response = client.SendAsync(new FastCgiRequest().Add("SCRIPT_FILENAME", "/x.php"), Serve.TestTimeout());
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var output = await SocketStats.ConnectionsToAsync(server.EndPoint.Port);
        answer.TrySetResult();

        await using (var done = await response)
        {
            Assert.Equal("ok", await Serve.ReadBodyAsync(done, Serve.TestTimeout()));
        }

        Assert.Contains($":{server.EndPoint.Port}", output, StringComparison.Ordinal);
        Assert.Equal(keepAlive, output.Contains("timer:(keepalive", StringComparison.Ordinal));
    }
}
