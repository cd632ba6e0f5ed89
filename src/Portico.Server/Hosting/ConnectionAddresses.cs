using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace Portico.Server.Hosting;

/// <summary>
/// A client connection's two ends, and their text as the variables print it (<c>$remote_addr</c>,
/// <c>$remote_port</c>, <c>$server_addr</c>, <c>$server_port</c>), formatted once per connection: every
/// FastCGI request sends all four, and a kept-alive connection carries many requests. Kestrel's
/// <see cref="ConnectionInfo"/> would be a feature lookup and a fresh format per read. HTTP/1.1 runs a
/// connection's requests one at a time, so the lazy fields need no lock (a race would only format twice).
/// </summary>
internal sealed class ConnectionAddresses
{
    private string? _remoteText;
    private byte[]? _remoteUtf8;
    private string? _remotePortText;
    private byte[]? _remotePortUtf8;
    private string? _localText;
    private byte[]? _localUtf8;
    private string? _localPortText;
    private byte[]? _localPortUtf8;

    public ConnectionAddresses(IPAddress? local, int localPort, IPAddress? remote, int remotePort)
    {
        LocalAddress = local;
        LocalPort = localPort;
        RemoteAddress = remote;
        RemotePort = remotePort;
    }

    /// <summary>Null on a Unix socket.</summary>
    public IPAddress? LocalAddress { get; }

    public int LocalPort { get; }

    /// <summary>Null on a Unix socket.</summary>
    public IPAddress? RemoteAddress { get; }

    public int RemotePort { get; }

    public string RemoteText => _remoteText ??= AddressText(RemoteAddress);

    public byte[] RemoteUtf8 => _remoteUtf8 ??= Encoding.ASCII.GetBytes(RemoteText);

    /// <summary>Empty on a Unix socket, as nginx's <c>$remote_port</c>.</summary>
    public string RemotePortText => _remotePortText ??= PortText(RemoteAddress, RemotePort);

    public byte[] RemotePortUtf8 => _remotePortUtf8 ??= Encoding.ASCII.GetBytes(RemotePortText);

    public string LocalText => _localText ??= AddressText(LocalAddress);

    public byte[] LocalUtf8 => _localUtf8 ??= Encoding.ASCII.GetBytes(LocalText);

    public string LocalPortText => _localPortText ??= PortText(LocalAddress, LocalPort);

    public byte[] LocalPortUtf8 => _localPortUtf8 ??= Encoding.ASCII.GetBytes(LocalPortText);

    public static ConnectionAddresses From(EndPoint? local, EndPoint? remote)
    {
        var l = local as IPEndPoint;
        var r = remote as IPEndPoint;
        return new(l?.Address, l?.Port ?? 0, r?.Address, r?.Port ?? 0);
    }

    public static ConnectionAddresses From(ConnectionInfo connection) =>
        new(connection.LocalIpAddress, connection.LocalPort, connection.RemoteIpAddress, connection.RemotePort);

    /// <summary>
    /// Kestrel on a dual-mode socket reports IPv4 clients as ::ffff:a.b.c.d; nginx listening on IPv4 prints
    /// a.b.c.d. A Unix-socket peer has no address: nginx prints "unix:". A scope id is not printed.
    /// </summary>
    internal static string AddressText(IPAddress? address)
    {
        if (address is null)
        {
            return "unix:";
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6 && address.ScopeId != 0)
        {
            address = new IPAddress(address.GetAddressBytes());
        }

        return address.ToString();
    }

    private static string PortText(IPAddress? address, int port) =>
        address is null ? "" : port.ToString(CultureInfo.InvariantCulture);
}
