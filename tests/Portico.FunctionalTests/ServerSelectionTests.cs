namespace Portico.FunctionalTests;

public sealed class ServerSelectionTests
{
    private const string Config = """
        error_log stderr;
        http {
            access_log off;
            server {
                listen 127.0.0.1:{port};
                server_name first.test;
                return 200 "first";
            }
            server {
                listen 127.0.0.1:{port} default_server;
                server_name default.test "";
                return 200 "default";
            }
            server {
                listen 127.0.0.1:{port};
                server_name exact.example.com *.example.com www.example.*;
                location / { return 200 "example:$host"; }
            }
            server {
                listen 127.0.0.1:{port};
                server_name deep.sub.example.com;
                return 200 "deep";
            }
            server {
                listen 127.0.0.1:{port};
                server_name .dot.test;
                return 200 "dot";
            }
            server {
                listen 127.0.0.1:{port};
                server_name ~^(?<user>[a-z]+)\.users\.test$;
                return 200 "user=$user";
            }
        }
        """;

    [Fact]
    public async Task Each_request_on_a_kept_alive_connection_is_matched_by_its_own_host_and_the_running_config()
    {
        // The connection remembers its listen socket's server table and its last Host's normal form; neither may
        // outlive a Host change or a reload.
        await using var server = await PorticoServer.StartAsync(Config);
        using var client = new System.Net.Sockets.TcpClient();
        using var cts = new CancellationTokenSource(RawHttp.Timeout);
        await client.ConnectAsync("127.0.0.1", server.Port, cts.Token);
        var stream = client.GetStream();
        async Task<string> Get(string host)
        {
            await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes($"GET / HTTP/1.1\r\nHost: {host}\r\n\r\n"), cts.Token);
            return (await RawHttp.ReadResponseAsync(stream, isHead: false, cts.Token)).BodyText;
        }

        Assert.Equal("first", await Get("first.test"));
        Assert.Equal("first", await Get("first.test"));
        Assert.Equal("deep", await Get("deep.sub.example.com"));
        Assert.Equal("first", await Get("FIRST.test:80"));
        Assert.Equal("default", await Get("unknown.test"));
        Assert.Equal("first", await Get("first.test"));

        await server.ReloadAsync(Config.Replace("server_name first.test;", "server_name renamed.test;", StringComparison.Ordinal));
        Assert.Equal("default", await Get("first.test"));
        Assert.Equal("first", await Get("renamed.test"));
    }

    [Theory]
    [InlineData("first.test", "first")]
    [InlineData("FIRST.Test", "first")]
    [InlineData("first.test:8080", "first")]
    [InlineData("first.test.", "first")]
    [InlineData("exact.example.com", "example:exact.example.com")]
    [InlineData("a.b.example.com", "example:a.b.example.com")]
    [InlineData("www.example.org", "example:www.example.org")]
    [InlineData("deep.sub.example.com", "deep")]
    [InlineData("dot.test", "dot")]
    [InlineData("x.dot.test", "dot")]
    [InlineData("alice.users.test", "user=alice")]
    [InlineData("unknown.test", "default")]
    [InlineData("127.0.0.1", "default")]
    public async Task Host_selects_server_in_nginx_order(string host, string expected)
    {
        await using var server = await PorticoServer.StartAsync(Config);
        var response = await server.GetAsync("/", host);
        Assert.Equal(200, response.Status);
        Assert.Equal(expected, response.BodyText);
    }

    [Fact]
    public async Task Http10_request_without_host_goes_to_default_server()
    {
        await using var server = await PorticoServer.StartAsync(Config);
        var response = await server.SendAsync("GET / HTTP/1.0\r\n\r\n");
        Assert.Equal(200, response.Status);
        Assert.Equal("default", response.BodyText);
    }

    [Theory]
    [InlineData("bad/host")]
    [InlineData("a..b")]
    public async Task Invalid_host_gets_400(string host)
    {
        await using var server = await PorticoServer.StartAsync(Config);
        var response = await server.GetAsync("/", host);
        Assert.Equal(400, response.Status);
        Assert.Equal("400 Bad Request", response.StatusLine[9..]);
    }

    [Fact]
    public async Task Http11_request_without_host_gets_400()
    {
        await using var server = await PorticoServer.StartAsync(Config);
        var response = await server.SendAsync("GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
        Assert.Equal(400, response.Status);
    }

    [Fact]
    public async Task Specific_address_wins_over_wildcard_on_the_same_port()
    {
        await using var server = await PorticoServer.StartAsync("""
            http {
                access_log off;
                server { listen {port}; return 200 "wildcard"; }
                server { listen 127.0.0.1:{port}; return 200 "loopback"; }
            }
            """);
        Assert.Equal("loopback", (await RawHttp.GetAsync(server.Port, "/")).BodyText);
        var other = await RawHttp.SendAsync(server.Port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", address: "127.0.0.2");
        Assert.Equal("wildcard", other.BodyText);
    }

    [Fact]
    public async Task Several_listens_in_one_server_all_answer()
    {
        var second = FreePort.Next();
        await using var server = await PorticoServer.StartAsync(
            "http { access_log off; server { listen 127.0.0.1:{port}; listen 127.0.0.1:" + second + "; return 200 \"both\"; } }");
        Assert.Equal("both", (await RawHttp.GetAsync(server.Port, "/")).BodyText);
        Assert.Equal("both", (await RawHttp.GetAsync(second, "/")).BodyText);
    }

    [Fact]
    public async Task Ipv6_and_ipv4_wildcards_bind_side_by_side()
    {
        await using var server = await PorticoServer.StartAsync("""
            http {
                access_log off;
                server { listen {port}; return 200 "v4"; }
                server { listen [::]:{port}; return 200 "v6"; }
                server { listen [::1]:{port}; server_name only6.test; return 200 "v6 loopback"; }
            }
            """);
        Assert.Equal("v4", (await RawHttp.GetAsync(server.Port, "/")).BodyText);
        Assert.Equal("v6 loopback", (await RawHttp.SendAsync(server.Port, "GET / HTTP/1.1\r\nHost: only6.test\r\nConnection: close\r\n\r\n", address: "::1")).BodyText);
    }
}
