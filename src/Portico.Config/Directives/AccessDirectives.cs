using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Portico.Config.Model;
using Portico.Config.Syntax;

namespace Portico.Config.Directives;

/// <summary>ngx_http_access_module (https://nginx.org/en/docs/http/ngx_http_access_module.html): <c>allow</c> and
/// <c>deny</c>, checked in the order written; a level with any of them replaces the rules it would inherit.</summary>
internal static class AccessDirectives
{
    public static IEnumerable<DirectiveSpec> All =>
    [
        new("allow", DirectiveContext.HttpAll, Arity.Take1, (ctx, d) => Bind(ctx, d, allow: true)),
        new("deny", DirectiveContext.HttpAll, Arity.Take1, (ctx, d) => Bind(ctx, d, allow: false)),
    ];

    private static void Bind(BindContext ctx, ConfigDirective d, bool allow)
    {
        var value = d.Args[0];
        var rule = value switch
        {
            "all" => new AccessRuleConfig(allow, AccessRuleScope.All, null, d.Where),
            "unix:" => new AccessRuleConfig(allow, AccessRuleScope.Unix, null, d.Where),
            _ => new AccessRuleConfig(allow, AccessRuleScope.Network, ParseNetwork(value) ?? throw BindContext.Error(d, $"invalid parameter \"{value}\""), d.Where),
        };
        ctx.Level.List<AccessRuleConfig>("access", (s, l) => s with { Access = l }).Add(rule);
    }

    /// <summary>An address, or address/bits (ngx_ptocidr); the bits below the prefix are cleared.</summary>
    internal static IPNetwork? ParseNetwork(string text)
    {
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (!IPAddress.TryParse(slash < 0 ? text : text[..slash], out var address) || (address.AddressFamily == AddressFamily.InterNetworkV6 && address.ScopeId != 0))
        {
            return null;
        }

        var width = address.AddressFamily == AddressFamily.InterNetwork ? 32 : 128;
        var bits = width;
        if (slash >= 0 && (!int.TryParse(text.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out bits) || bits > width))
        {
            return null;
        }

        var bytes = address.GetAddressBytes();
        for (var i = 0; i < bytes.Length; i++)
        {
            var keep = Math.Clamp(bits - (i * 8), 0, 8);
            bytes[i] &= (byte)(0xFF << (8 - keep));
        }

        return new IPNetwork(new IPAddress(bytes), bits);
    }
}
