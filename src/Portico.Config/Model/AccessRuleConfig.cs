using System.Net;

namespace Portico.Config.Model;

/// <summary>What an <c>allow</c> or <c>deny</c> rule matches.</summary>
public enum AccessRuleScope
{
    /// <summary><c>all</c>: every client, over IP or a unix socket.</summary>
    All,

    /// <summary><c>unix:</c>: clients on a unix-domain socket.</summary>
    Unix,

    /// <summary>An address or a CIDR network (IPv4 or IPv6).</summary>
    Network,
}

/// <summary>
/// One <c>allow</c> or <c>deny</c> (https://nginx.org/en/docs/http/ngx_http_access_module.html). A network's low
/// bits are cleared at load, as nginx clears them (it warns "low address bits of ... are meaningless").
/// </summary>
public sealed record AccessRuleConfig(bool Allow, AccessRuleScope Scope, IPNetwork? Network, SourceLocation Where)
{
    /// <summary>nginx's form: <c>all</c>, <c>unix:</c> or <c>address/bits</c>.</summary>
    public string Text => Scope switch
    {
        AccessRuleScope.All => "all",
        AccessRuleScope.Unix => "unix:",
        _ => Network!.Value.ToString(),
    };
}
