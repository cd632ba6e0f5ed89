using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Portico.FastCgi.Client;

/// <summary>Where a FastCGI application listens: TCP host and port, or a unix domain socket path.</summary>
public sealed class FastCgiEndPoint : IEquatable<FastCgiEndPoint>
{
    // Made once: parsing the address again for every connect showed in the cost of a 502 for a backend that is down.
    private EndPoint? _socketEndPoint;
    private string? _text;

    private FastCgiEndPoint(string? host, int port, string? unixPath)
    {
        Host = host;
        Port = port;
        UnixSocketPath = unixPath;
    }

    public string? Host { get; }

    public int Port { get; }

    public string? UnixSocketPath { get; }

    public bool IsUnixSocket => UnixSocketPath is not null;

    public static FastCgiEndPoint Tcp(string host, int port)
    {
        ArgumentException.ThrowIfNullOrEmpty(host);
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        return new FastCgiEndPoint(host, port, null);
    }

    public static FastCgiEndPoint Unix(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        return new FastCgiEndPoint(null, 0, path);
    }

    /// <summary>Parses nginx fastcgi_pass syntax: "unix:/path", "host:port", "[::1]:port".</summary>
    public static FastCgiEndPoint Parse(string address)
    {
        ArgumentException.ThrowIfNullOrEmpty(address);
        if (address.StartsWith("unix:", StringComparison.Ordinal))
        {
            return Unix(address["unix:".Length..]);
        }

        var colon = address.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(address.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port))
        {
            throw new FormatException($"\"{address}\" is not host:port or unix:/path.");
        }

        var host = address[..colon];
        if (host.StartsWith('[') && host.EndsWith(']'))
        {
            host = host[1..^1];
        }

        return Tcp(host, port);
    }

    internal EndPoint ToSocketEndPoint() => _socketEndPoint ??= CreateSocketEndPoint();

    private EndPoint CreateSocketEndPoint() =>
        UnixSocketPath is not null ? new UnixDomainSocketEndPoint(UnixSocketPath)
        : IPAddress.TryParse(Host, out var ip) ? new IPEndPoint(ip, Port)
        : new DnsEndPoint(Host!, Port);

    public bool Equals(FastCgiEndPoint? other) =>
        other is not null && Host == other.Host && Port == other.Port && UnixSocketPath == other.UnixSocketPath;

    public override bool Equals(object? obj) => Equals(obj as FastCgiEndPoint);

    public override int GetHashCode() => HashCode.Combine(Host, Port, UnixSocketPath);

    public override string ToString() => _text ??=
        UnixSocketPath is not null ? "unix:" + UnixSocketPath
        : Host!.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}
