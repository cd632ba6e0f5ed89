using System.Net;
using System.Net.Sockets;

namespace Portico.EndToEnd.Tests;

/// <summary>
/// The socket parameters of <c>listen</c> (https://nginx.org/en/docs/http/ngx_http_core_module.html#listen) reach
/// the listening socket: <c>reuseport</c> lets another SO_REUSEPORT socket share the port, <c>backlog=N</c> sizes
/// the accept queue (read back with ss, which prints a listener's backlog as its Send-Q).
/// </summary>
public sealed class ListenParameterTests
{
    private static async Task<PorticoProcess> StartAsync(TempDir dir, int port, string parameters)
    {
        var conf = dir.Write("site.conf", $"http {{ access_log off; server {{ listen 127.0.0.1:{port}{parameters}; return 200 \"ok\"; }} }}\n");
        var portico = PorticoProcess.Start(dir.Path, "-p", dir.Path + "/", "-c", conf);
        await portico.WaitForPortAsync(port);
        return portico;
    }

    [Theory]
    [InlineData(" reuseport", true)]
    [InlineData("", false)]
    public async Task Reuseport_lets_another_socket_share_the_port(string parameters, bool shared)
    {
        using var dir = new TempDir();
        var port = FreePort.Next();
        await using var portico = await StartAsync(dir, port, parameters);

        using var other = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        other.SetRawSocketOption(1 /* SOL_SOCKET */, 15 /* SO_REUSEPORT */, BitConverter.GetBytes(1));
        var bound = true;
        try
        {
            other.Bind(new IPEndPoint(IPAddress.Loopback, port));
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse)
        {
            bound = false;
        }

        Assert.Equal(shared, bound);
        Assert.Equal("ok", (await RawHttp.GetAsync(port, "/")).BodyText);
    }

    [Fact]
    public async Task A_second_server_on_the_same_port_fails_to_start_as_in_nginx()
    {
        // Without reuseport the port is not shared: .NET's ReuseAddress option would set SO_REUSEPORT as well
        // and let the second server take part of the traffic without a word.
        using var dir = new TempDir();
        var port = FreePort.Next();
        await using var first = await StartAsync(dir, port, "");

        using var second = new TempDir();
        var conf = second.Write("site.conf", $"http {{ server {{ listen 127.0.0.1:{port}; }} }}\n");
        var (code, _, stderr) = await PorticoProcess.RunAsync(second.Path, "-p", second.Path, "-c", conf);
        Assert.Equal(1, code);
        Assert.Equal($"portico: [emerg] bind() to 127.0.0.1:{port} failed (98: Address already in use)\n", stderr);
    }

    [Ipv6Theory]
    [InlineData(" ipv6only=off", true)]
    [InlineData("", false)]
    public async Task Ipv6only_off_lets_an_ipv6_wildcard_take_ipv4_too(string parameters, bool ipv4Served)
    {
        using var dir = new TempDir();
        var port = FreePort.Next();
        var conf = dir.Write("site.conf", $"http {{ access_log off; server {{ listen [::]:{port}{parameters}; return 200 \"ok\"; }} }}\n");
        await using var portico = PorticoProcess.Start(dir.Path, "-p", dir.Path + "/", "-c", conf);
        await portico.WaitForPortAsync(port, "::1");

        var served = true;
        try
        {
            Assert.Equal("ok", (await RawHttp.GetAsync(port, "/")).BodyText);
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionRefused)
        {
            served = false;
        }

        Assert.Equal(ipv4Served, served);
    }

    [RequiresTheory(SocketStats.Path)]
    [InlineData(" backlog=37", 37)]
    [InlineData("", 511)]
    public async Task Backlog_sizes_the_accept_queue(string parameters, int backlog)
    {
        using var dir = new TempDir();
        var port = FreePort.Next();
        await using var portico = await StartAsync(dir, port, parameters);

        var output = await SocketStats.RunAsync("-ltnH", $"sport = :{port}");

        // State Recv-Q Send-Q Local-Address:Port Peer-Address:Port
        var columns = output.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(columns.Length >= 4, "ss printed: " + output);
        Assert.Equal(backlog.ToString(System.Globalization.CultureInfo.InvariantCulture), columns[2]);
    }

    /// <summary>A theory that needs an IPv6 stack (binding [::]); a visible skip where the host has none.</summary>
    private sealed class Ipv6TheoryAttribute : TheoryAttribute
    {
        public Ipv6TheoryAttribute()
        {
            try
            {
                using var probe = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
                probe.Bind(new IPEndPoint(IPAddress.IPv6Any, 0));
            }
            catch (SocketException)
            {
                Skip = "no IPv6 on this host";
            }
        }
    }
}
