using Portico.Config;
using System.Net;
using Portico.Config.Model;
using Portico.FastCgi.Client;
using Portico.Server.FastCgi;
using Portico.Server.Tests.Variables;

namespace Portico.Server.Tests.FastCgi;

public sealed class UpstreamGroupTests
{
    private static readonly SourceLocation Where = TestRequests.Where;

    private static UpstreamGroup Group(UpstreamBalancing balancing, TimeProvider time, params UpstreamServerConfig[] servers)
    {
        var peers = servers.Select((s, i) =>
        {
            var endPoint = FastCgiEndPoint.Parse(s.Address);
            return new UpstreamPeer(i, endPoint, [new FastCgiConnectionPool(endPoint, new FastCgiPoolOptions { MaxIdleConnections = 0 })], s);
        }).ToList();
        return new UpstreamGroup("php", peers, balancing, null, false, time);
    }

    private static UpstreamServerConfig Server(string address, int weight = 1, int maxFails = 1, int failSeconds = 10, bool backup = false, bool down = false) =>
        new(address, weight, maxFails, TimeSpan.FromSeconds(failSeconds), backup, down, Where);

    private static string Pick(UpstreamGroup group, Portico.Server.Phases.RequestContext? ctx = null, ulong tried = 0)
    {
        var peer = group.Select(ctx ?? TestRequests.Get(), tried);
        if (peer is null)
        {
            return "-";
        }

        group.Release(peer, failed: false);
        return peer.Name;
    }

    [Fact]
    public void Smooth_weighted_round_robin_interleaves_like_nginx()
    {
        // nginx's example: weights 5, 1, 1 give a a b a c a a (never five a's in a row).
        var group = Group(UpstreamBalancing.RoundRobin, TimeProvider.System, Server("10.0.0.1:9000", 5), Server("10.0.0.2:9000"), Server("10.0.0.3:9000"));

        var order = string.Join(" ", Enumerable.Range(0, 7).Select(_ => Pick(group)[7..8]));

        Assert.Equal("1 1 2 1 3 1 1", order);
    }

    [Fact]
    public void Failed_server_is_skipped_for_fail_timeout_then_tried_again()
    {
        var time = new ManualTimeProvider(DateTimeOffset.UnixEpoch);
        var group = Group(UpstreamBalancing.RoundRobin, time, Server("10.0.0.1:9000", failSeconds: 10), Server("10.0.0.2:9000"));
        var first = group.Select(TestRequests.Get(), 0)!;
        Assert.Equal("10.0.0.1:9000", first.Name);
        group.Release(first, failed: true);

        Assert.All(Enumerable.Range(0, 4), _ => Assert.Equal("10.0.0.2:9000", Pick(group)));

        time.Advance(TimeSpan.FromSeconds(11));
        var picks = Enumerable.Range(0, 4).Select(_ => Pick(group)).ToList();
        Assert.Contains("10.0.0.1:9000", picks);
    }

    [Fact]
    public void Tried_servers_are_not_picked_again_and_exhaustion_gives_null()
    {
        var group = Group(UpstreamBalancing.RoundRobin, TimeProvider.System, Server("10.0.0.1:9000"), Server("10.0.0.2:9000"));

        Assert.Equal("10.0.0.2:9000", Pick(group, tried: 1));
        Assert.Equal("10.0.0.1:9000", Pick(group, tried: 2));
        Assert.Equal("-", Pick(group, tried: 3));
    }

    [Fact]
    public void Backup_is_used_only_when_primaries_are_unavailable()
    {
        var group = Group(UpstreamBalancing.RoundRobin, TimeProvider.System, Server("10.0.0.1:9000"), Server("10.0.0.9:9000", backup: true));
        Assert.Equal("10.0.0.1:9000", Pick(group));
        Assert.Equal("10.0.0.1:9000", Pick(group));

        var primary = group.Select(TestRequests.Get(), 0)!;
        group.Release(primary, failed: true);

        Assert.Equal("10.0.0.9:9000", Pick(group));
    }

    [Fact]
    public void Down_servers_are_never_picked()
    {
        var group = Group(UpstreamBalancing.RoundRobin, TimeProvider.System, Server("10.0.0.1:9000", down: true), Server("10.0.0.2:9000"));

        Assert.All(Enumerable.Range(0, 3), _ => Assert.Equal("10.0.0.2:9000", Pick(group)));
    }

    [Fact]
    public void Single_server_ignores_max_fails()
    {
        var group = Group(UpstreamBalancing.RoundRobin, TimeProvider.System, Server("10.0.0.1:9000"));
        var peer = group.Select(TestRequests.Get(), 0)!;
        group.Release(peer, failed: true);

        Assert.Equal("10.0.0.1:9000", Pick(group));
    }

    [Fact]
    public void Single_server_counts_its_active_requests()
    {
        // The one-server path takes no lock; its count of requests in flight still goes up and down by one.
        var group = Group(UpstreamBalancing.RoundRobin, TimeProvider.System, Server("10.0.0.1:9000"));
        var first = group.Select(TestRequests.Get(), 0)!;
        var second = group.Select(TestRequests.Get(), 0)!;
        Assert.Same(first, second);
        Assert.Equal(2, first.Active);
        group.Release(first, failed: true);
        Assert.Equal(1, first.Active);
        group.Release(second, failed: false);
        Assert.Equal(0, first.Active);
    }

    [Fact]
    public void Single_server_that_is_down_or_tried_gives_no_server()
    {
        Assert.Equal("-", Pick(Group(UpstreamBalancing.RoundRobin, TimeProvider.System, Server("10.0.0.1:9000", down: true))));
        Assert.Equal("-", Pick(Group(UpstreamBalancing.RoundRobin, TimeProvider.System, Server("10.0.0.1:9000")), tried: 1));
    }

    [Fact]
    public void Least_conn_prefers_the_server_with_fewer_active_requests()
    {
        var group = Group(UpstreamBalancing.LeastConn, TimeProvider.System, Server("10.0.0.1:9000"), Server("10.0.0.2:9000"));
        var busy = group.Select(TestRequests.Get(), 0)!; // held: one active request

        var next = group.Select(TestRequests.Get(), 0)!;
        Assert.NotEqual(busy.Name, next.Name);
        group.Release(next, false);
        Assert.Equal(next.Name, Pick(group));
        group.Release(busy, false);
    }

    [Fact]
    public void Ip_hash_sends_a_client_network_to_the_same_server()
    {
        var group = Group(UpstreamBalancing.IpHash, TimeProvider.System, Server("10.0.0.1:9000"), Server("10.0.0.2:9000"), Server("10.0.0.3:9000"));
        string For(string ip) => Pick(group, TestRequests.Get(configure: h => h.Connection.RemoteIpAddress = IPAddress.Parse(ip)));

        var first = For("192.168.7.10");
        Assert.All(Enumerable.Range(0, 5), _ => Assert.Equal(first, For("192.168.7.10")));
        Assert.Equal(first, For("192.168.7.200")); // same /24, same server (nginx hashes three octets)
        var spread = Enumerable.Range(0, 40).Select(i => For($"10.{i}.{i * 3 % 256}.1")).Distinct().Count();
        Assert.True(spread > 1);
    }
}
