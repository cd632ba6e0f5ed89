using System.Net;
using Portico.Config.Model;

namespace Portico.Server.Phases;

/// <summary>
/// nginx's access phase for <c>allow</c>/<c>deny</c> (ngx_http_access_handler): the rules of the request's location
/// in the order written, the first that matches the client deciding; when none matches, the client is let in. A
/// client on a unix-domain socket (no address) matches <c>unix:</c> and <c>all</c>; an IPv4 client a dual-mode socket
/// reports as <c>::ffff:a.b.c.d</c> is matched as IPv4, as nginx matches it.
/// </summary>
internal static class AccessPhase
{
    public static bool Allows(IReadOnlyList<AccessRuleConfig> rules, IPAddress? client)
    {
        if (client is { IsIPv4MappedToIPv6: true })
        {
            client = client.MapToIPv4();
        }

        for (var i = 0; i < rules.Count; i++)
        {
            var rule = rules[i];
            var matches = rule.Scope switch
            {
                AccessRuleScope.All => true,
                AccessRuleScope.Unix => client is null,
                _ => client is not null && rule.Network!.Value.Contains(client),
            };
            if (matches)
            {
                return rule.Allow;
            }
        }

        return true;
    }
}
