using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Portico.Config.Model;
using Portico.Config.Syntax;

namespace Portico.Config.Directives;

/// <summary>
/// <c>listen</c> and <c>server_name</c> (https://nginx.org/en/docs/http/ngx_http_core_module.html#listen,
/// https://nginx.org/en/docs/http/server_names.html).
/// </summary>
internal static partial class ListenDirectives
{
    public static IEnumerable<DirectiveSpec> All =>
    [
        new("listen", DirectiveContext.Server, Arity.OneMore, BindListen),
        new("server_name", DirectiveContext.Server, Arity.OneMore, BindServerName),
    ];

    [GeneratedRegex(@"^[0-9]{1,3}(\.[0-9]{1,3}){3}$")]
    private static partial Regex DottedQuad();

    private static void BindListen(BindContext ctx, ConfigDirective d)
    {
        ListenConfig listen = ParseAddress(d);
        for (int i = 1; i < d.Args.Count; i++)
        {
            listen = ApplyParameter(d, listen, d.Args[i]);
        }

        ServerBuilder server = ctx.Server!;
        string socket = SocketText(listen);
        foreach (ListenConfig existing in server.Listens)
        {
            if (SocketText(existing) == socket)
            {
                throw BindContext.Error(d, $"a duplicate listen {socket}");
            }
        }

        Dictionary<string, bool> defaults = ctx.Http!.DefaultServers;
        if (listen.DefaultServer && defaults.TryGetValue(socket, out bool hasDefault) && hasDefault)
        {
            throw BindContext.Error(d, $"a duplicate default server for {socket}");
        }

        // Socket options can be given once per socket, by any one server (ngx_http_add_addresses).
        if ((listen.Bind || listen.Backlog != 511 || listen.ReusePort || listen.Ipv6Only is not null)
            && !ctx.Http.SocketsWithOptions.Add(socket))
        {
            throw BindContext.Error(d, $"duplicate listen options for {socket}");
        }

        defaults[socket] = (defaults.TryGetValue(socket, out bool had) && had) || listen.DefaultServer;
        server.Listens.Add(listen);
    }

    /// <summary>The socket as nginx prints it in messages: <c>0.0.0.0:80</c>, <c>[::]:80</c>, <c>unix:/p</c>.</summary>
    public static string SocketText(ListenConfig l) => l.UnixPath is not null
        ? "unix:" + l.UnixPath
        : l.Address is null ? $"0.0.0.0:{l.Port}" : l.EndpointText;

    /// <summary>
    /// Address forms: <c>PORT</c>, <c>ADDR[:PORT]</c>, <c>*[:PORT]</c>, <c>[IPV6][:PORT]</c>, <c>unix:PATH</c>.
    /// nginx resolves host names at load; we do not query DNS while loading, and accept only
    /// <c>localhost</c> (as 127.0.0.1) besides literal addresses.
    /// </summary>
    private static ListenConfig ParseAddress(ConfigDirective d)
    {
        string text = d.Args[0];
        if (text.StartsWith("unix:", StringComparison.OrdinalIgnoreCase))
        {
            string path = text[5..];
            if (path.Length == 0)
            {
                throw ListenError(d, "no path in the unix domain socket", text);
            }

            return new ListenConfig(null, 0, false, d.Where) { UnixPath = path };
        }

        string host;
        string? portText;
        if (text.StartsWith('['))
        {
            int close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                throw ListenError(d, "invalid host", text);
            }

            host = text[1..close];
            string rest = text[(close + 1)..];
            if (rest.Length > 0 && !rest.StartsWith(':'))
            {
                throw ListenError(d, "invalid host", text);
            }

            portText = rest.Length > 0 ? rest[1..] : null;
            if (!IPAddress.TryParse(host, out IPAddress? v6) || v6.AddressFamily != AddressFamily.InterNetworkV6)
            {
                throw ListenError(d, "invalid IPv6 address", text);
            }

            return new ListenConfig(v6.ToString(), portText is null ? 80 : Port(d, portText, text), false, d.Where);
        }
        else
        {
            // The first colon separates the port, as in ngx_parse_inet_url ("::1:80" has an invalid port).
            int colon = text.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0 && Values.Int(text) is not null)
            {
                return new ListenConfig(null, Port(d, text, text), false, d.Where);
            }

            host = colon < 0 ? text : text[..colon];
            portText = colon < 0 ? null : text[(colon + 1)..];
        }

        int port = portText is null ? 80 : Port(d, portText, text);
        string? address = host switch
        {
            "*" or "0.0.0.0" => null,
            "localhost" => "127.0.0.1",
            _ when DottedQuad().IsMatch(host) && IPAddress.TryParse(host, out IPAddress? v4) => v4.ToString(),
            _ => throw ListenError(d, "host not found", text),
        };
        return new ListenConfig(address, port, false, d.Where);
    }

    private static int Port(ConfigDirective d, string portText, string whole) =>
        Values.Int(portText) is int p and >= 1 and <= 65535 ? p : throw ListenError(d, "invalid port", whole);

    private static ConfigException ListenError(ConfigDirective d, string what, string text) =>
        BindContext.Error(d, $"{what} in \"{text}\" of the \"listen\" directive");

    private static ListenConfig ApplyParameter(ConfigDirective d, ListenConfig l, string p)
    {
        switch (p)
        {
            case "default_server" or "default":
                return l with { DefaultServer = true };
            case "bind":
                return l with { Bind = true };
            case "reuseport":
                // nginx: reuseport implies bind.
                return l with { ReusePort = true, Bind = true };
            case "ssl":
                return l with { Ssl = true };
            case "http2":
                return l with { Http2 = true };
        }

        if (p.StartsWith("backlog=", StringComparison.Ordinal))
        {
            int backlog = Values.Int(p.AsSpan(8)) is int b and > 0
                ? b
                : throw BindContext.Error(d, $"invalid backlog \"{p}\"");
            return l with { Backlog = backlog, Bind = true };
        }

        if (p.StartsWith("ipv6only=", StringComparison.Ordinal))
        {
            bool v6only = p[9..] switch
            {
                "on" => true,
                "off" => false,
                _ => throw BindContext.Error(d, $"invalid ipv6only flags \"{p[9..]}\""),
            };
            return l with { Ipv6Only = v6only, Bind = true };
        }

        if (p is "proxy_protocol" or "deferred" or "fastopen" or "so_keepalive" or "quic" or "http3"
            || p.StartsWith("rcvbuf=", StringComparison.Ordinal) || p.StartsWith("sndbuf=", StringComparison.Ordinal)
            || p.StartsWith("accept_filter=", StringComparison.Ordinal) || p.StartsWith("fastopen=", StringComparison.Ordinal)
            || p.StartsWith("so_keepalive=", StringComparison.Ordinal) || p.StartsWith("setfib=", StringComparison.Ordinal))
        {
            throw BindContext.Error(d, $"the \"{p.Split('=')[0]}\" parameter of \"listen\" is not supported by portico");
        }

        throw BindContext.Error(d, $"invalid parameter \"{p}\"");
    }

    /// <summary>
    /// Names are lower-cased; <c>.example.com</c> is stored as <c>example.com</c> plus
    /// <c>*.example.com</c>; wildcards are checked as ngx_hash_add_key checks them (one <c>*</c>,
    /// only as a whole first or last label, no empty labels); <c>~</c> names are regexes.
    /// </summary>
    private static void BindServerName(BindContext ctx, ConfigDirective d)
    {
        ServerBuilder server = ctx.Server!;
        foreach (string raw in d.Args)
        {
            if (raw.StartsWith('~'))
            {
                string pattern = Regexes.Validate(raw[1..], d, caseInsensitive: true);
                server.Names.Add(new ServerNameConfig(pattern, ServerNameKind.Regex, d.Where));
                continue;
            }

            // The directive's own check (ngx_http_core_server_name), before the wildcard rules.
            if ((raw.StartsWith('*') && (raw.Length < 3 || raw[1] != '.')) || (raw.StartsWith('.') && raw.Length < 2))
            {
                throw BindContext.Error(d, $"server name \"{raw}\" is invalid");
            }

            // "$hostname" is the machine's name, fixed at load (nginx: cycle->hostname).
            string name = raw == "$hostname" ? Environment.MachineName.ToLowerInvariant() : raw.ToLowerInvariant();
            int stars = name.Count(c => c == '*');
            bool invalid = stars > 1 || name.Contains("..", StringComparison.Ordinal);
            if (!invalid && name.Length > 1 && name[0] == '.')
            {
                server.Names.Add(new ServerNameConfig(name[1..], ServerNameKind.Exact, d.Where));
                server.Names.Add(new ServerNameConfig("*" + name, ServerNameKind.WildcardPrefix, d.Where));
                continue;
            }

            if (!invalid && stars == 1)
            {
                if (name.Length > 2 && name.StartsWith("*.", StringComparison.Ordinal))
                {
                    server.Names.Add(new ServerNameConfig(name, ServerNameKind.WildcardPrefix, d.Where));
                    continue;
                }

                if (name.Length > 2 && name.EndsWith(".*", StringComparison.Ordinal))
                {
                    server.Names.Add(new ServerNameConfig(name, ServerNameKind.WildcardSuffix, d.Where));
                    continue;
                }

                invalid = true;
            }

            if (invalid)
            {
                throw BindContext.Error(d, $"invalid server name or wildcard \"{raw}\"");
            }

            server.Names.Add(new ServerNameConfig(name, ServerNameKind.Exact, d.Where));
        }
    }
}
