using System.Net;
using System.Text.RegularExpressions;
using Portico.Config;
using Portico.Config.Model;

namespace Portico.Server.Routing;

/// <summary>
/// Every address:port the config listens on, with its server-name table, and the sockets to
/// bind. Built once per config snapshot.
/// </summary>
internal sealed class VirtualServerTable
{
    private readonly Dictionary<string, ServerNameTable> _byEndpoint;

    private VirtualServerTable(Dictionary<string, ServerNameTable> byEndpoint, IReadOnlyList<ListenBinding> bindings)
    {
        _byEndpoint = byEndpoint;
        Bindings = bindings;
    }

    public IReadOnlyList<ListenBinding> Bindings { get; }

    public static VirtualServerTable Build(IReadOnlyList<RuntimeServer> servers)
    {
        var tables = new Dictionary<string, ServerNameTable>(StringComparer.Ordinal);
        var options = new Dictionary<string, ListenConfig>(StringComparer.Ordinal);
        var explicitDefaults = new HashSet<string>(StringComparer.Ordinal);
        foreach (var server in servers)
        {
            foreach (var listen in server.Config.Listens)
            {
                var key = CanonicalKey(listen);
                if (!tables.TryGetValue(key, out var table))
                {
                    table = new ServerNameTable(key, server);
                    tables.Add(key, table);
                    options.Add(key, listen);
                }

                if (listen.DefaultServer)
                {
                    // https://nginx.org/en/docs/http/ngx_http_core_module.html#listen: one default per address:port.
                    if (!explicitDefaults.Add(key) && table.DefaultServer != server)
                    {
                        throw new ConfigException($"a duplicate default server for {key}", listen.Where);
                    }

                    table.SetDefault(server);
                    options[key] = listen;
                }

                table.Add(server);
            }
        }

        foreach (var table in tables.Values)
        {
            table.Seal();
        }

        return new VirtualServerTable(tables, PlanBindings(options));
    }

    /// <summary>Finds the server-name table for a connection's local endpoint.</summary>
    public ServerNameTable? FindEndpoint(IPAddress? localAddress, int localPort)
    {
        if (localAddress is null)
        {
            // Unix sockets: one table per path; there is no address to tell them apart, so the
            // single unix listener (if any) is used.
            foreach (var (key, table) in _byEndpoint)
            {
                if (key.StartsWith("unix:", StringComparison.Ordinal))
                {
                    return table;
                }
            }

            return null;
        }

        if (localAddress.IsIPv4MappedToIPv6)
        {
            localAddress = localAddress.MapToIPv4();
        }

        var specific = localAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
            ? $"[{localAddress}]:{localPort}"
            : $"{localAddress}:{localPort}";
        if (_byEndpoint.TryGetValue(specific, out var found))
        {
            return found;
        }

        var wildcard = localAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
            ? $"[::]:{localPort}"
            : $"*:{localPort}";
        return _byEndpoint.GetValueOrDefault(wildcard);
    }

    /// <summary>Finds the server for a request: local endpoint, then Host.</summary>
    public RuntimeServer? FindServer(IPAddress? localAddress, int localPort, string host, out Match? regexMatch, out string?[]? groupNames)
    {
        regexMatch = null;
        groupNames = null;
        return FindEndpoint(localAddress, localPort)?.Find(host, out regexMatch, out groupNames);
    }

    private static string CanonicalKey(ListenConfig listen)
    {
        if (listen.UnixPath is not null)
        {
            return "unix:" + listen.UnixPath;
        }

        if (listen.Address is null || listen.Address == "0.0.0.0")
        {
            return $"*:{listen.Port}";
        }

        var address = IPAddress.Parse(listen.Address);
        return address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
            ? $"[{address}]:{listen.Port}"
            : $"{address}:{listen.Port}";
    }

    private static List<ListenBinding> PlanBindings(Dictionary<string, ListenConfig> options)
    {
        var bindings = new List<ListenBinding>();
        foreach (var (key, listen) in options)
        {
            if (listen.UnixPath is not null)
            {
                bindings.Add(new ListenBinding(null, listen.UnixPath, listen));
                continue;
            }

            var address = listen.Address is null ? IPAddress.Any : IPAddress.Parse(listen.Address);
            var isWildcard = address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any);
            if (!isWildcard && !listen.Bind)
            {
                var wildcardKey = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
                    ? $"[::]:{listen.Port}"
                    : $"*:{listen.Port}";
                if (options.ContainsKey(wildcardKey))
                {
                    continue;
                }
            }

            bindings.Add(new ListenBinding(new IPEndPoint(address, listen.Port), null, listen));
        }

        return bindings;
    }
}
