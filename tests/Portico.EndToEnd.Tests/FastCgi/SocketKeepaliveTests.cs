namespace Portico.EndToEnd.Tests.FastCgi;

/// <summary>
/// <c>fastcgi_socket_keepalive on</c> turns SO_KEEPALIVE on for the connections to the backend
/// (https://nginx.org/en/docs/http/ngx_http_fastcgi_module.html#fastcgi_socket_keepalive); off leaves the operating
/// system's default, which on Linux is no keepalive. The kernel shows it as the socket's keepalive timer (<c>ss -o</c>),
/// read here while the backend holds the request unanswered.
/// </summary>
public sealed class SocketKeepaliveTests
{
    [RequiresTheory(SocketStats.Path)]
    [InlineData("fastcgi_socket_keepalive on;", true)]
    [InlineData("fastcgi_socket_keepalive off;", false)]
    [InlineData("", false)]
    public async Task Keepalive_is_on_the_backend_connection_only_when_asked(string directive, bool expected)
    {
        var answer = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var backend = new FakeFastCgiBackend(async (stream, token) =>
        {
            arrived.TrySetResult();
            await answer.Task.WaitAsync(TimeSpan.FromSeconds(10), token);
            await stream.WriteAsync(FakeFastCgiBackend.Record(FakeFastCgiBackend.Stdout, "Content-Type: text/plain\r\n\r\nheld"), token);
            await stream.WriteAsync(FakeFastCgiBackend.Record(FakeFastCgiBackend.Stdout, ""), token);
            await stream.WriteAsync(FakeFastCgiBackend.EndRequest(), token);
        });

        using var dir = new TempDir();
        var port = FreePort.Next();
        var conf = dir.Write("site.conf", $$"""
            error_log {{dir.Path}}/error.log info;
            http {
                access_log off;
                server {
                    listen 127.0.0.1:{{port}};
                    location / { {{directive}} fastcgi_pass 127.0.0.1:{{backend.Port}}; }
                }
            }
            """);
        await using var portico = PorticoProcess.Start(dir.Path, "-p", dir.Path + "/", "-c", conf);
        await portico.WaitForPortAsync(port);

        var response = RawHttp.GetAsync(port, "/held");
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(10));

        // Portico's end of the connection to the backend, with its timers.
        var output = await SocketStats.ConnectionsToAsync(backend.Port);
        answer.TrySetResult();

        Assert.Equal("held", (await response).BodyText);
        Assert.Contains($":{backend.Port}", output, StringComparison.Ordinal);
        Assert.Equal(expected, output.Contains("timer:(keepalive", StringComparison.Ordinal));
    }
}
