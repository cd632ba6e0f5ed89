using Portico.Config;
using Portico.Server.FastCgi;
using Portico.Server.Hosting;

namespace Portico.Server.Tests.FastCgi;

/// <summary>
/// nginx's <c>keepalive N</c> is the idle connections "preserved in the cache of each worker process"
/// (ngx_http_upstream_module). Portico's workers are event loops sharing one pool per upstream server,
/// so the pool caches N for each of them: the same number of php-fpm workers stay pinned as under nginx.
/// </summary>
public sealed class UpstreamKeepaliveTests
{
    private const string Config = """
        http {
            upstream php { server 127.0.0.1:9001; server 127.0.0.1:9002; keepalive 4; }
            upstream cold { server 127.0.0.1:9003; }
            server { listen 8080; location / { fastcgi_pass php; } }
        }
        """;

    [Theory]
    [InlineData(1, 4)]
    [InlineData(0, 4)] // in-process hosts run no event loops of their own: one cache, as one worker
    [InlineData(2, 8)]
    [InlineData(3, 12)]
    public void Each_event_loop_counts_as_a_worker_with_its_own_cache(int eventLoops, int idle)
    {
        var group = Group("php", eventLoops);

        Assert.All(group.All, peer => Assert.Equal(idle, peer.Pool.Options.MaxIdleConnections));
    }

    [Fact]
    public void Without_keepalive_nothing_is_cached_whatever_the_workers()
    {
        Assert.Equal(0, Group("cold", 4).All[0].Pool.Options.MaxIdleConnections);
    }

    private static UpstreamGroup Group(string name, int eventLoops)
    {
        var http = ConfigLoader.LoadText(Config, "/virtual/test.conf", "/virtual/").Config.Http!;
        var runtime = FastCgiRuntime.Build(http, VariableScopeBuilder.FromConfig(http), TimeProvider.System, eventLoops);
        return runtime.Resolve(name, runtime.Get(http.Settings.FastCgi))!;
    }
}
