using System.Net;
using Portico.Config;
using Portico.Config.Model;
using Portico.Server.Phases;

namespace Portico.Server.Tests.Phases;

/// <summary>allow/deny as ngx_http_access_handler applies them: in order, the first match decides, none lets in.</summary>
public sealed class AccessPhaseTests
{
    [Theory]
    [InlineData("192.168.1.1", false)] // the first rule
    [InlineData("10.9.8.7", true)]     // the second: 10.0.0.0/8
    [InlineData("192.168.1.2", false)] // the last: all
    [InlineData("::ffff:10.1.1.1", true)] // IPv4 on a dual-mode socket is matched as IPv4
    [InlineData("2001:db8:1::5", true)]
    [InlineData("2001:db9::5", false)]
    public void The_first_rule_that_matches_decides(string client, bool allowed)
    {
        var rules = Rules("deny 192.168.1.1", "allow 10.0.0.0/8", "allow 2001:db8::/32", "deny all");
        Assert.Equal(allowed, AccessPhase.Allows(rules, IPAddress.Parse(client)));
    }

    [Fact]
    public void No_rule_that_matches_lets_the_client_in()
    {
        Assert.True(AccessPhase.Allows(Rules("deny 10.0.0.0/8", "deny ::1"), IPAddress.Loopback));
        Assert.True(AccessPhase.Allows([], IPAddress.Loopback));
    }

    [Fact]
    public void A_unix_socket_client_matches_unix_and_all_only()
    {
        Assert.True(AccessPhase.Allows(Rules("deny 0.0.0.0/0", "deny ::/0", "allow unix:", "deny all"), client: null));
        Assert.False(AccessPhase.Allows(Rules("deny unix:", "allow all"), client: null));
        Assert.True(AccessPhase.Allows(Rules("deny unix:", "allow all"), IPAddress.Loopback));
        Assert.False(AccessPhase.Allows(Rules("allow 127.0.0.1", "deny all"), client: null));
    }

    [Fact]
    public void An_ipv4_rule_never_matches_an_ipv6_client()
    {
        Assert.True(AccessPhase.Allows(Rules("deny 0.0.0.0/0"), IPAddress.IPv6Loopback));
        Assert.False(AccessPhase.Allows(Rules("deny ::/0"), IPAddress.IPv6Loopback));
    }

    [Fact]
    public void A_mapped_ipv4_client_is_checked_as_ipv4_only_where_the_location_has_ipv4_rules()
    {
        var mapped = IPAddress.Parse("::ffff:192.168.1.1");

        // ngx_http_access_handler: IPv4 rules ("all" counts) take a mapped client, and the IPv6 rules are not consulted.
        Assert.True(AccessPhase.Allows(Rules("allow 10.0.0.0/8", "deny ::/0"), mapped));
        Assert.False(AccessPhase.Allows(Rules("deny 192.168.0.0/16"), mapped));

        // No IPv4 rule: the IPv6 rules see the mapped address as it is.
        Assert.False(AccessPhase.Allows(Rules("deny ::ffff:0:0/96"), mapped));
        Assert.False(AccessPhase.Allows(Rules("deny ::/0"), mapped));
        Assert.True(AccessPhase.Allows(Rules("deny 2001:db8::/32"), mapped));
    }

    [Theory]
    [InlineData("010.0.0.1", "10.0.0.1/32")] // decimal, as ngx_inet_addr reads it, not octal
    [InlineData("10.1.2.3/8", "10.0.0.0/8")]
    [InlineData("0.0.0.0/0", "0.0.0.0/0")]
    [InlineData("::/0", "::/0")]
    [InlineData("2001:db8::1/32", "2001:db8::/32")]
    public void Addresses_are_read_as_nginx_reads_them(string written, string rule)
    {
        Assert.Equal(rule, Rules("allow " + written)[0].Text);
    }

    [Theory]
    [InlineData("10")]
    [InlineData("192.168.1")]
    [InlineData("0x0a.0.0.1")]
    [InlineData("256.0.0.1")]
    [InlineData("[::1]")]
    [InlineData("[::1]:80")]
    [InlineData("fe80::1%1")]
    [InlineData("10.0.0.0/33")]
    [InlineData("example.com")]
    public void Other_forms_are_refused_with_nginxs_words(string written)
    {
        var error = Assert.Throws<ConfigException>(() => Rules("deny " + written));
        Assert.StartsWith($"invalid parameter \"{written}\"", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Rules as a location block's allow/deny lines compile them.</summary>
    private static IReadOnlyList<AccessRuleConfig> Rules(params string[] lines)
    {
        var text = "events {}\nhttp { server { listen 80; location / { " + string.Join("; ", lines) + "; } } }\n";
        var config = ConfigLoader.LoadText(text, "/tmp/access.conf", "/tmp/").Config;
        return config.Http!.Servers[0].Locations[0].Settings.Access;
    }
}
