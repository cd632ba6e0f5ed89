using Portico.FastCgi.Client;
using Portico.FastCgi.Tests.Infrastructure;

namespace Portico.FastCgi.Tests;

public sealed class ConnectionPoolTests
{
    private static FastCgiRequest Request() => new FastCgiRequest().Add("SCRIPT_FILENAME", "/x.php");

    private static async Task<string> GetAsync(FastCgiClient client)
    {
        await using var response = await client.SendAsync(Request(), Serve.TestTimeout());
        return await Serve.ReadBodyAsync(response, Serve.TestTimeout());
    }

    [Fact]
    public async Task Keep_conn_reuses_one_connection_for_sequential_requests()
    {
        var keepFlags = new List<bool>();
        await using var server = new FakeFastCgiServer(Serve.Responding(r =>
        {
            lock (keepFlags)
            {
                keepFlags.Add(r.KeepConnection);
            }

            return Records.Response("A: b\n\nok");
        }));
        await using var client = new FastCgiClient(server.EndPoint, new FastCgiClientOptions { KeepConnection = true });
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal("ok", await GetAsync(client));
        }

        Assert.Equal(1, server.AcceptedConnections);
        Assert.Equal(1, client.Pool.IdleCount);
        Assert.Equal(Enumerable.Repeat(true, 5), keepFlags);
    }

    [Fact]
    public async Task Without_keep_conn_every_request_opens_a_connection_and_none_is_kept()
    {
        await using var server = new FakeFastCgiServer(Serve.Responding("A: b\n\nok"));
        await using var client = new FastCgiClient(server.EndPoint, new FastCgiClientOptions { KeepConnection = false });
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal("ok", await GetAsync(client));
        }

        Assert.Equal(3, server.AcceptedConnections);
        Assert.Equal(0, client.Pool.IdleCount);
    }

    [Fact]
    public async Task Pool_never_keeps_more_idle_connections_than_configured()
    {
        const int concurrent = 6;
        var arrived = 0;
        var allArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var closedByClient = new SemaphoreSlim(0);
        await using var server = new FakeFastCgiServer(async c =>
        {
            // Hold every answer until all requests are in flight, so all connections exist at once.
            while (await c.ReadRequestAsync() is not null)
            {
                if (Interlocked.Increment(ref arrived) == concurrent)
                {
                    allArrived.SetResult();
                }

                await allArrived.Task.WaitAsync(c.Stopping);
                await c.SendAsync(Records.Response("A: b\n\nok"));
            }

            closedByClient.Release();
        });
        await using var client = new FastCgiClient(
            server.EndPoint,
            new FastCgiClientOptions { KeepConnection = true },
            new FastCgiPoolOptions { MaxIdleConnections = 2 });

        var results = await Task.WhenAll(Enumerable.Range(0, concurrent).Select(_ => GetAsync(client)));

        Assert.All(results, r => Assert.Equal("ok", r));
        Assert.Equal(concurrent, server.AcceptedConnections);
        Assert.Equal(2, client.Pool.IdleCount);

        // The surplus connections were closed, not parked: the backend sees them go.
        for (var i = 0; i < concurrent - 2; i++)
        {
            Assert.True(await closedByClient.WaitAsync(TimeSpan.FromSeconds(10)), $"only {i} surplus connections were closed");
        }

        Assert.False(await closedByClient.WaitAsync(0), "an idle pooled connection was closed");
    }

    [Fact]
    public async Task Connection_abandoned_mid_body_is_not_reused()
    {
        await using var server = new FakeFastCgiServer(Serve.Responding(_ => Records.Response("A: b\n\n" + new string('x', 300_000))));
        await using var client = new FastCgiClient(server.EndPoint, new FastCgiClientOptions { KeepConnection = true });

        await using (var response = await client.SendAsync(Request(), Serve.TestTimeout()))
        {
            var buffer = new byte[1000];
            await response.Body.ReadExactlyAsync(buffer, Serve.TestTimeout());
        }

        Assert.Equal(0, client.Pool.IdleCount);
        Assert.Equal(300_000, (await GetAsync(client)).Length);
        Assert.Equal(2, server.AcceptedConnections);
    }

    [Fact]
    public async Task Response_disposed_unread_after_end_request_arrived_keeps_its_connection()
    {
        await using var server = new FakeFastCgiServer(Serve.Responding("Location: /x\n\nmoved"));
        await using var client = new FastCgiClient(server.EndPoint, new FastCgiClientOptions { KeepConnection = true });
        await using (var response = await client.SendAsync(Request(), Serve.TestTimeout()))
        {
            Assert.Equal(302, response.StatusCode);

            // The whole response (48 bytes, one write) arrives in one loopback segment, so END_REQUEST was
            // read together with the header; this byte comes from the held-back head buffer.
            Assert.Equal((byte)'m', (byte)response.Body.ReadByte());
        }

        Assert.Equal(1, client.Pool.IdleCount);
        Assert.Equal("moved", await GetAsync(client));
        Assert.Equal(1, server.AcceptedConnections);
    }

    [Fact]
    public async Task Connection_that_saw_an_error_is_discarded()
    {
        var calls = 0;
        await using var server = new FakeFastCgiServer(Serve.Responding(_ =>
            Interlocked.Increment(ref calls) == 1 ? Records.Response("not a header\n\n") : Records.Response("A: b\n\nok")));
        await using var client = new FastCgiClient(server.EndPoint, new FastCgiClientOptions { KeepConnection = true });

        await Assert.ThrowsAsync<FastCgiException>(() => GetAsync(client));
        Assert.Equal(0, client.Pool.IdleCount);
        Assert.Equal("ok", await GetAsync(client));
        Assert.Equal(2, server.AcceptedConnections);
    }

    [Fact]
    public async Task Idle_connection_closed_by_the_backend_is_replaced_transparently()
    {
        var closed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = new FakeFastCgiServer(async c =>
        {
            // Ignores KEEP_CONN: answers once, then closes (like a php-fpm worker hitting pm.max_requests).
            if (await c.ReadRequestAsync() is not null)
            {
                await c.SendAsync(Records.Response("A: b\n\nok"));
                await c.DisposeAsync();
                closed.TrySetResult();
            }
        });
        await using var client = new FastCgiClient(server.EndPoint, new FastCgiClientOptions { KeepConnection = true });
        Assert.Equal("ok", await GetAsync(client));
        await closed.Task.WaitAsync(Serve.TestTimeout());

        // Whether the close is seen by the idle check or only when the request fails, the caller gets an answer.
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal("ok", await GetAsync(client));
        }

        Assert.Equal(4, server.AcceptedConnections);
    }

    [Fact]
    public async Task Pooled_connection_closed_without_answer_is_retried_once_on_a_fresh_connection()
    {
        var connections = 0;
        await using var server = new FakeFastCgiServer(async c =>
        {
            var first = Interlocked.Increment(ref connections) == 1;
            await c.ReadRequestAsync();
            await c.SendAsync(Records.Response("A: b\n\nok"));
            if (await c.ReadRequestAsync() is not null && !first)
            {
                await c.SendAsync(Records.Response("A: b\n\nok"));
            }

            // On the first connection the second request is dropped unanswered: the close-while-reused race.
        });
        await using var client = new FastCgiClient(server.EndPoint, new FastCgiClientOptions { KeepConnection = true });
        Assert.Equal("ok", await GetAsync(client));
        Assert.Equal("ok", await GetAsync(client));
        Assert.Equal(2, server.AcceptedConnections);
    }

    [Fact]
    public async Task Request_whose_body_was_sent_is_not_retried()
    {
        var connections = 0;
        await using var server = new FakeFastCgiServer(async c =>
        {
            Interlocked.Increment(ref connections);
            await c.ReadRequestAsync();
            await c.SendAsync(Records.Response("A: b\n\nok"));
            await c.ReadRequestAsync();
        });
        await using var client = new FastCgiClient(server.EndPoint, new FastCgiClientOptions { KeepConnection = true });
        Assert.Equal("ok", await GetAsync(client));
        var request = Request();
        request.Body = new MemoryStream(new byte[10]);
        var ex = await Assert.ThrowsAsync<FastCgiException>(() => client.SendAsync(request, Serve.TestTimeout()));
        Assert.Equal(FastCgiErrorKind.BackendClosed, ex.Kind);
        Assert.Equal(1, server.AcceptedConnections);
    }

    [Fact]
    public async Task Connection_is_retired_after_max_requests()
    {
        await using var server = new FakeFastCgiServer(Serve.Responding("A: b\n\nok"));
        await using var client = new FastCgiClient(
            server.EndPoint,
            new FastCgiClientOptions { KeepConnection = true },
            new FastCgiPoolOptions { MaxRequestsPerConnection = 2 });
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal("ok", await GetAsync(client));
        }

        Assert.Equal(2, server.AcceptedConnections);
    }

    [Fact]
    public async Task Idle_connection_expires_after_idle_timeout_on_the_injected_clock()
    {
        var clock = new ManualTimeProvider();
        await using var server = new FakeFastCgiServer(Serve.Responding("A: b\n\nok"));
        await using var client = new FastCgiClient(
            server.EndPoint,
            new FastCgiClientOptions { KeepConnection = true },
            new FastCgiPoolOptions { IdleTimeout = TimeSpan.FromSeconds(60), TimeProvider = clock });

        Assert.Equal("ok", await GetAsync(client));
        clock.Advance(TimeSpan.FromSeconds(59));
        client.Pool.SweepExpired();
        Assert.Equal(1, client.Pool.IdleCount);
        Assert.Equal("ok", await GetAsync(client));
        Assert.Equal(1, server.AcceptedConnections);

        clock.Advance(TimeSpan.FromSeconds(61));
        client.Pool.SweepExpired();
        Assert.Equal(0, client.Pool.IdleCount);
        Assert.Equal("ok", await GetAsync(client));
        Assert.Equal(2, server.AcceptedConnections);
    }

    [Fact]
    public async Task Max_idle_zero_disables_reuse()
    {
        await using var server = new FakeFastCgiServer(Serve.Responding("A: b\n\nok"));
        await using var client = new FastCgiClient(
            server.EndPoint,
            new FastCgiClientOptions { KeepConnection = true },
            new FastCgiPoolOptions { MaxIdleConnections = 0 });
        Assert.Equal("ok", await GetAsync(client));
        Assert.Equal("ok", await GetAsync(client));
        Assert.Equal(2, server.AcceptedConnections);
        Assert.Equal(0, client.Pool.IdleCount);
    }

    [Theory]
    [InlineData("127.0.0.1:9000", "127.0.0.1", 9000, null)]
    [InlineData("localhost:9001", "localhost", 9001, null)]
    [InlineData("[::1]:9002", "::1", 9002, null)]
    [InlineData("unix:/run/php/fpm.sock", null, 0, "/run/php/fpm.sock")]
    public void Endpoint_parses_nginx_fastcgi_pass_syntax(string text, string? host, int port, string? path)
    {
        var endPoint = FastCgiEndPoint.Parse(text);
        Assert.Equal(host, endPoint.Host);
        Assert.Equal(port, endPoint.Port);
        Assert.Equal(path, endPoint.UnixSocketPath);
        Assert.Equal(text.Replace("localhost", "localhost", StringComparison.Ordinal), endPoint.ToString());
    }
}
