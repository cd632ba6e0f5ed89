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
        var host = slash < 0 ? text : text[..slash];
        if (ParseAddress(host) is not { } address)
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

    /// <summary>
    /// nginx's address forms only: IPv4 as four decimal parts (ngx_inet_addr: "010" is ten, not octal eight, and
    /// "10" or "10.1" are no address), IPv6 as ngx_inet6_addr reads it (no brackets, port or scope), where
    /// IPAddress.TryParse would take them all.
    /// </summary>
    private static IPAddress? ParseAddress(string text)
    {
        if (text.Contains(':', StringComparison.Ordinal))
        {
            return text.AsSpan().IndexOfAny("[]%") < 0 && IPAddress.TryParse(text, out var v6) && v6.AddressFamily == AddressFamily.InterNetworkV6 ? v6 : null;
        }

        var parts = text.Split('.');
        if (parts.Length != 4)
        {
            return null;
        }

        var bytes = new byte[4];
        for (var i = 0; i < 4; i++)
        {
            if (parts[i].Length is 0 or > 3 || !parts[i].All(char.IsAsciiDigit) || int.Parse(parts[i], CultureInfo.InvariantCulture) is var n && n > 255)
            {
                return null;
            }

            bytes[i] = (byte)int.Parse(parts[i], CultureInfo.InvariantCulture);
        }

        return new IPAddress(bytes);
    }
}
