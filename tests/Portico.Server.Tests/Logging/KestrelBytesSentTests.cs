using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Portico.Server.Phases;
using Portico.Server.Tests.Variables;
using Portico.Server.Variables;

namespace Portico.Server.Tests.Logging;

/// <summary>$bytes_sent is estimated from the response headers; check the estimate against what Kestrel really sends.</summary>
public sealed class KestrelBytesSentTests
{
    [Fact]
    public async Task Request_length_estimate_equals_bytes_received()
    {
        var estimate = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        await using var app = builder.Build();
        app.Run(async http =>
        {
            await http.Request.Body.CopyToAsync(Stream.Null);
            var ctx = new RequestContext(http, TestRequests.Server(), 1, 1) { RequestUri = "/p?q=1", Uri = "/p", Args = "q=1" };
            estimate.TrySetResult(VariableRef.RequestLength(ctx));
        });
        await app.StartAsync();
        var port = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Port;

        var request = "POST /p?q=1 HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t\r\nCookie: a=1\r\nCookie: b=2\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello";
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        await stream.CopyToAsync(Stream.Null).WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(request.Length, await estimate.Task.WaitAsync(TimeSpan.FromSeconds(20)));
        await app.StopAsync();
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Bytes_sent_estimate_equals_bytes_on_the_wire(bool contentLength)
    {
        var estimate = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        await using var app = builder.Build();
        app.Run(async http =>
        {
            var body = "hello world\n"u8.ToArray();
            http.Response.ContentType = "text/plain";
            if (contentLength)
            {
                http.Response.ContentLength = body.Length;
            }

            http.Response.Headers["X-Extra"] = new(["a", "bb"]);
            await http.Response.Body.WriteAsync(body);
            http.Response.OnCompleted(() =>
            {
                var ctx = new RequestContext(http, TestRequests.Server(), 1, 1) { RequestUri = "/", Uri = "/" };
                ctx.BodyBytesSent = body.Length;
                estimate.TrySetResult(VariableRef.BytesSent(ctx));
                return Task.CompletedTask;
            });
        });
        await app.StartAsync();
        var port = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Port;

        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, port);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
        var received = new MemoryStream();
        await stream.CopyToAsync(received).WaitAsync(TimeSpan.FromSeconds(20));
        var wire = received.Length;
        if (!contentLength)
        {
            // Chunk framing belongs to the body on the wire; nginx counts it too, the estimate does not.
            var text = Encoding.ASCII.GetString(received.ToArray());
            var head = text.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4;
            Assert.Contains("Transfer-Encoding: chunked", text[..head], StringComparison.Ordinal);
            wire = head + 12;
        }

        Assert.Equal(wire, await estimate.Task.WaitAsync(TimeSpan.FromSeconds(20)));
        await app.StopAsync();
    }
}
