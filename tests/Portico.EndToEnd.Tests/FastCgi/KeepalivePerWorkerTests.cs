namespace Portico.EndToEnd.Tests.FastCgi;

/// <summary>
/// <c>keepalive N</c> in an upstream keeps N idle connections per worker, as nginx's does ("preserved in the cache
/// of each worker process", ngx_http_upstream_module); Portico's workers are its event loops (worker_processes).
/// Without worker_processes nginx runs one worker, so the count is then kept in all.
/// </summary>
public sealed class KeepalivePerWorkerTests
{
    private const int Burst = 4;

    [Theory]
    [InlineData("worker_processes 1;", 1)]
    [InlineData("worker_processes 2;", 2)]
    [InlineData("worker_processes auto;", -1)] // one per CPU
    [InlineData("", 1)] // unset: nginx runs one worker (Portico still runs one event loop per CPU)
    public async Task An_upstream_keeps_keepalive_connections_per_worker(string workers, int expectedKept)
    {
        if (expectedKept < 0)
        {
            expectedKept = Math.Min(Burst, Environment.ProcessorCount);
        }

        // Every request holds its connection until the whole burst has arrived, so each one opens its own; the
        // backend then answers all of them and keeps each connection open until the server closes it.
        var arrived = 0;
        var open = 0;
        var allArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var backend = new FakeFastCgiBackend(async (stream, token) =>
        {
            Interlocked.Increment(ref open);
            try
            {
                if (Interlocked.Increment(ref arrived) == Burst)
                {
                    allArrived.TrySetResult();
                }

                await allArrived.Task.WaitAsync(TimeSpan.FromSeconds(10), token);
                await stream.WriteAsync(FakeFastCgiBackend.Record(FakeFastCgiBackend.Stdout, "Content-Type: text/plain\r\n\r\nkept"), token);
                await stream.WriteAsync(FakeFastCgiBackend.Record(FakeFastCgiBackend.Stdout, ""), token);
                await stream.WriteAsync(FakeFastCgiBackend.EndRequest(), token);
                var buffer = new byte[256];
                while (await stream.ReadAsync(buffer, token) > 0)
                {
                }
            }
            finally
            {
                Interlocked.Decrement(ref open);
            }
        });

        using var dir = new TempDir();
        var port = FreePort.Next();
        var conf = dir.Write("site.conf", $$"""
            {{workers}}
            error_log {{dir.Path}}/error.log info;
            http {
                access_log off;
                upstream app { server 127.0.0.1:{{backend.Port}}; keepalive 1; }
                server {
                    listen 127.0.0.1:{{port}};
                    location / { fastcgi_keep_conn on; fastcgi_pass app; }
                }
            }
            """);
        await using var portico = PorticoProcess.Start(dir.Path, "-p", dir.Path + "/", "-c", conf);
        await portico.WaitForPortAsync(port);

        var responses = await Task.WhenAll(Enumerable.Range(0, Burst).Select(i => RawHttp.GetAsync(port, "/burst?i=" + i)));
        Assert.All(responses, r => Assert.Equal("kept", r.BodyText));
        Assert.Equal(Burst, backend.Connections);

        // The surplus is closed as each connection comes back; what stays is the cache.
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Volatile.Read(ref open) > expectedKept && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }

        await Task.Delay(300);
        Assert.Equal(expectedKept, Volatile.Read(ref open));
    }
}
