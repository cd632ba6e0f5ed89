using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Portico.Config.Model;
using Portico.Server.Hosting;
using Portico.Server.Variables;

namespace Portico.Server.Tests.Variables;

/// <summary>
/// $remote_addr, $remote_port, $server_addr and $server_port come from the connection's ends, formatted once per
/// connection; the text and the UTF-8 the FastCGI params get must be what nginx prints.
/// </summary>
public sealed class ConnectionAddressesTests
{
    [Theory]
    [InlineData("10.0.0.1", 8080, "192.168.1.20", 51234, "10.0.0.1", "192.168.1.20")]
    [InlineData("::ffff:127.0.0.1", 80, "::ffff:10.1.2.3", 4000, "127.0.0.1", "10.1.2.3")] // IPv4 client on a dual-mode socket
    [InlineData("::1", 443, "fe80::1%2", 5000, "::1", "fe80::1")] // no scope id
    public void Ends_print_as_nginx(string local, int localPort, string remote, int remotePort, string localText, string remoteText)
    {
        var a = ConnectionAddresses.From(new IPEndPoint(IPAddress.Parse(local), localPort), new IPEndPoint(IPAddress.Parse(remote), remotePort));

        Assert.Equal((remoteText, remotePort.ToString(CultureInfo.InvariantCulture), localText, localPort.ToString(CultureInfo.InvariantCulture)),
            (a.RemoteText, a.RemotePortText, a.LocalText, a.LocalPortText));
        AssertUtf8Matches(a);
    }

    [Fact]
    public void Unix_socket_has_unix_addresses_and_no_ports()
    {
        var path = new UnixDomainSocketEndPoint("/tmp/portico-test.sock");
        var a = ConnectionAddresses.From(path, path);

        Assert.Equal(("unix:", "", "unix:", ""), (a.RemoteText, a.RemotePortText, a.LocalText, a.LocalPortText));
        AssertUtf8Matches(a);
    }

    [Fact]
    public void Variables_read_the_connection_given_to_the_request()
    {
        var ctx = TestRequests.Get("/");
        ctx = new Portico.Server.Phases.RequestContext(ctx.Http, TestRequests.Server(), 1, 1)
        {
            Addresses = ConnectionAddresses.From(new IPEndPoint(IPAddress.Parse("10.9.8.7"), 81), new IPEndPoint(IPAddress.Parse("172.16.0.5"), 999)),
        };

        var value = CompiledValue.Compile(new ConfigValue("$remote_addr:$remote_port $server_addr:$server_port", TestRequests.Where), VariableScope.Default);
        var utf8 = new byte[64];

        Assert.Equal("172.16.0.5:999 10.9.8.7:81", value.Evaluate(ctx));
        Assert.True(value.TryWriteUtf8(ctx, utf8, out var written));
        Assert.Equal("172.16.0.5:999 10.9.8.7:81", Encoding.UTF8.GetString(utf8, 0, written));
    }

    private static void AssertUtf8Matches(ConnectionAddresses a)
    {
        Assert.Equal(a.RemoteText, Encoding.UTF8.GetString(a.RemoteUtf8));
        Assert.Equal(a.RemotePortText, Encoding.UTF8.GetString(a.RemotePortUtf8));
        Assert.Equal(a.LocalText, Encoding.UTF8.GetString(a.LocalUtf8));
        Assert.Equal(a.LocalPortText, Encoding.UTF8.GetString(a.LocalPortUtf8));
    }
}
