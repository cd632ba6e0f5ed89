using System.Net;
using Portico.Config;
using Portico.Server.Routing;
using static Portico.Server.Tests.Routing.RoutingTestSupport;

namespace Portico.Server.Tests.Routing;

public sealed class ServerNameTableTests
{
    private const string Config = """
        http {
            server { listen 8080; server_name first.test; }
            server { listen 8080; server_name exact.example.com *.example.com; }
            server { listen 8080; server_name *.sub.example.com; }
            server { listen 8080; server_name www.example.*; }
            server { listen 8080; server_name .dot.test; }
            server { listen 8080; server_name ~^(?<user>[a-z]+)\.users\.test$; }
            server { listen 8080; server_name ~^www\.; }
            server { listen 8080 default_server; server_name default.test ""; }
            server { listen 127.0.0.1:8080; server_name loopback.test; }
        }
        """;

    [Theory]
    [InlineData("first.test", "first.test")]
    [InlineData("exact.example.com", "exact.example.com")]
    [InlineData("a.example.com", "exact.example.com")]
    [InlineData("a.sub.example.com", "*.sub.example.com")]
    [InlineData("example.com", "default.test")]
    [InlineData("www.example.org", "www.example.*")]
    [InlineData("www.other.org", "~^www\\.")]
    [InlineData("dot.test", "dot.test")]
    [InlineData("a.dot.test", "dot.test")]
    [InlineData("bob.users.test", "~^(?<user>[a-z]+)\\.users\\.test$")]
    [InlineData("", "default.test")]
    [InlineData("nothing.test", "default.test")]
    public void Wildcard_endpoint_picks_server_in_nginx_order(string host, string primaryName)
    {
        var table = VirtualServerTable.Build(Servers(Config));
        var server = table.FindServer(IPAddress.Parse("10.0.0.1"), 8080, host, out _, out _);
        Assert.NotNull(server);
        Assert.Equal(primaryName, server.Config.PrimaryName);
    }

    [Fact]
    public void Specific_address_uses_its_own_table_and_default()
    {
        var table = VirtualServerTable.Build(Servers(Config));
        Assert.Equal("loopback.test", table.FindServer(IPAddress.Loopback, 8080, "first.test", out _, out _)!.Config.PrimaryName);
        Assert.Equal("first.test", table.FindServer(IPAddress.Parse("10.0.0.1"), 8080, "first.test", out _, out _)!.Config.PrimaryName);
    }

    [Fact]
    public void Only_the_wildcard_socket_is_bound_when_a_port_has_one()
    {
        var table = VirtualServerTable.Build(Servers(Config));
        var binding = Assert.Single(table.Bindings);
        Assert.Equal(new IPEndPoint(IPAddress.Any, 8080), binding.EndPoint);
    }

    [Fact]
    public void Bind_parameter_gets_its_own_socket()
    {
        var table = VirtualServerTable.Build(Servers("http { server { listen 8080; } server { listen 127.0.0.1:8080 bind; } }"));
        Assert.Equal(2, table.Bindings.Count);
    }

    [Fact]
    public void Regex_server_name_exposes_named_capture()
    {
        var table = VirtualServerTable.Build(Servers(Config));
        table.FindServer(IPAddress.Loopback, 9999, "x", out _, out _);
        var server = table.FindServer(IPAddress.Parse("10.0.0.1"), 8080, "carol.users.test", out var match, out var names);
        Assert.NotNull(server);
        Assert.Equal("carol", match!.Groups[1].Value);
        Assert.Equal("user", names![1]);
    }

    [Fact]
    public void Two_default_servers_on_one_endpoint_is_an_error()
    {
        var ex = Assert.Throws<ConfigException>(() => VirtualServerTable.Build(Servers(
            "http {\nserver { listen 8080 default_server; }\nserver { listen 8080 default_server; }\n}")));
        Assert.Contains("a duplicate default server for", ex.Message, StringComparison.Ordinal);
    }
}
