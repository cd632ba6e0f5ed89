using System.Net.Sockets;
using System.Text;

namespace Portico.FunctionalTests;

/// <summary>Bad input gets a 4xx and a closed connection, never a crash or a hang.</summary>
public sealed class MalformedRequestTests
{
    private const string Config = "http { access_log off; server { listen 127.0.0.1:{port}; root {root}; } }";

    [Theory]
    [InlineData("GARBAGE\r\n\r\n")]
    [InlineData("GET\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n")]
    [InlineData("GET /\u0001 HTTP/1.1\r\nHost: x\r\n\r\n")]
    public async Task Malformed_request_gets_4xx(string request)
    {
        await using var server = await PorticoServer.StartAsync(Config);
        var response = await server.SendAsync(request);
        Assert.InRange(response.Status, 400, 499);
    }

    [Fact]
    public async Task Unknown_http_major_version_is_505()
    {
        await using var server = await PorticoServer.StartAsync(Config);
        var response = await server.SendAsync("GET / HTTP/9.9\r\nHost: x\r\n\r\n");
        Assert.Equal(505, response.Status);
    }

    [Fact]
    public async Task Huge_request_line_is_refused()
    {
        await using var server = await PorticoServer.StartAsync(Config);
        var response = await server.SendAsync($"GET /{new string('a', 20_000)} HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.InRange(response.Status, 400, 499);
    }

    [Fact]
    public async Task Huge_headers_are_refused()
    {
        await using var server = await PorticoServer.StartAsync(Config);
        var headers = string.Concat(Enumerable.Range(0, 50).Select(i => $"X-H{i}: {new string('v', 1000)}\r\n"));
        var response = await server.SendAsync($"GET / HTTP/1.1\r\nHost: x\r\n{headers}\r\n");
        Assert.InRange(response.Status, 400, 499);
    }

    [Fact]
    public async Task Body_over_client_max_body_size_is_413()
    {
        await using var server = await PorticoServer.StartAsync(
            "http { access_log off; client_max_body_size 10; server { listen 127.0.0.1:{port}; root {root}; } }");
        var response = await server.SendAsync("POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n01234567890");
        Assert.Equal(413, response.Status);
        Assert.Equal("HTTP/1.1 413 Request Entity Too Large", response.StatusLine);
    }

    [Fact]
    public async Task Server_keeps_serving_after_a_client_vanishes_mid_request()
    {
        await using var server = await PorticoServer.StartAsync(Config, dir => dir.Write("f.txt", "ok"));
        for (var i = 0; i < 20; i++)
        {
            using var client = new TcpClient();
            await client.ConnectAsync("127.0.0.1", server.Port);
            await client.GetStream().WriteAsync(Encoding.ASCII.GetBytes("GET /f.txt HTTP/1.1\r\nHo"));
            client.Client.Close();
        }

        Assert.Equal("ok", (await server.GetAsync("/f.txt")).BodyText);
    }

    [Fact]
    public async Task A_handler_failure_costs_one_request_with_500_not_the_server()
    {
        // The open-file cache trusts a lookup for a second; a large (not in-memory) file deleted
        // inside that window makes the open at send time fail after the handler chose to serve it.
        await using var server = await PorticoServer.StartAsync(Config, dir => dir.Write("big.bin", new byte[3 << 20]));
        Assert.Equal(200, (await server.GetAsync("/big.bin", method: "HEAD")).Status);
        File.Delete(Path.Combine(server.Root, "big.bin"));
        var failed = await server.GetAsync("/big.bin");
        Assert.Equal(500, failed.Status);
        Assert.Contains("<title>500 Internal Server Error</title>", failed.BodyText, StringComparison.Ordinal);
        server.Dir.Write("small.txt", "still serving");
        Assert.Equal("still serving", (await server.GetAsync("/small.txt")).BodyText);
    }
}
