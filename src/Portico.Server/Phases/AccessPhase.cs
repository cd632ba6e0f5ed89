using System.Net;
using Portico.Config.Model;

namespace Portico.Server.Phases;

/// <summary>
/// nginx's access phase for <c>allow</c>/<c>deny</c> (ngx_http_access_handler): the rules of the request's location
/// in the order written, the first that matches the client deciding; when none matches, the client is let in. A
/// client on a unix-domain socket (no address) matches <c>unix:</c> and <c>all</c>; an IPv4 client a dual-mode socket
/// reports as <c>::ffff:a.b.c.d</c> is matched as nginx matches it: as IPv4 where the location has IPv4 rules.
/// </summary>
internal static class AccessPhase
{
    public static bool Allows(IReadOnlyList<AccessRuleConfig> rules, IPAddress? client)
    {
        if (client is { IsIPv4MappedToIPv6: true } && HasIPv4Rules(rules))
        {
            // ngx_http_access_handler: a mapped client is checked as IPv4 when the location has IPv4 rules ("all" is
            // one), else against the IPv6 rules as it is.
            client = client.MapToIPv4();
        }

        for (var i = 0; i < rules.Count; i++)
        {
            var rule = rules[i];
            var matches = rule.Scope switch
            {
                AccessRuleScope.All => true,
                AccessRuleScope.Unix => client is null,
                _ => client is not null && Contains(rule.Network!.Value, client),
            };
            if (matches)
            {
                return rule.Allow;
            }
        }

        return true;
    }

    /// <summary>The network holds the address: the same family and the same leading bits. (IPNetwork.Contains takes an
    /// IPv4-mapped address for IPv4, so <c>::ffff:0:0/96</c> would never match one.)</summary>
    private static bool Contains(IPNetwork network, IPAddress address)
    {
        if (address.AddressFamily != network.BaseAddress.AddressFamily)
        {
            return false;
        }

        Span<byte> a = stackalloc byte[16];
        Span<byte> n = stackalloc byte[16];
        address.TryWriteBytes(a, out var length);
        network.BaseAddress.TryWriteBytes(n, out _);
        var bits = network.PrefixLength;
        for (var i = 0; i < length && bits > 0; i++, bits -= 8)
        {
            var mask = bits >= 8 ? 0xFF : 0xFF << (8 - bits) & 0xFF;
            if ((a[i] & mask) != n[i])
            {
                return false;
            }
        }

        return true;
    }

    private static bool HasIPv4Rules(IReadOnlyList<AccessRuleConfig> rules)
    {
        foreach (var rule in rules)
        {
            if (rule.Scope == AccessRuleScope.All || (rule.Scope == AccessRuleScope.Network && rule.Network!.Value.BaseAddress.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork))
            {
                return true;
            }
        }

        return false;
    }
}
