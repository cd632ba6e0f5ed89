using Portico.Server.FastCgi;

namespace Portico.Server.Tests.FastCgi;

/// <summary>$upstream_addr / $upstream_status / $upstream_response_time as nginx forms them
/// (ngx_http_upstream_addr_variable): ", " between servers tried, " : " between upstream passes.</summary>
public sealed class UpstreamLogTests
{
    [Fact]
    public void One_try_gives_one_entry()
    {
        var log = new UpstreamLog(null);
        log.Add("127.0.0.1:9000", 200, 0.0123);
        Assert.Equal("127.0.0.1:9000", log.Get("upstream_addr"));
        Assert.Equal("200", log.Get("upstream_status"));
        Assert.Equal("0.012", log.Get("upstream_response_time"));
        Assert.Null(log.Get("upstream_connect_time"));
    }

    [Fact]
    public void Retries_are_comma_separated_in_order()
    {
        var log = new UpstreamLog(null);
        log.Add("127.0.0.1:9000", 502, 0.001);
        log.Add("unix:/run/php.sock", 504, 1.5);
        log.Add("127.0.0.1:9002", 200, 0.25);
        Assert.Equal("127.0.0.1:9000, unix:/run/php.sock, 127.0.0.1:9002", log.Get("upstream_addr"));
        Assert.Equal("502, 504, 200", log.Get("upstream_status"));
        Assert.Equal("0.001, 1.500, 0.250", log.Get("upstream_response_time"));
    }

    [Fact]
    public void A_second_upstream_pass_is_separated_by_a_colon()
    {
        var first = new UpstreamLog(null);
        first.Add("127.0.0.1:9000", 200, 0.002);
        var second = new UpstreamLog(first);
        second.Add("127.0.0.1:9001", 404, 0.003);
        Assert.Equal("127.0.0.1:9000 : 127.0.0.1:9001", second.Get("upstream_addr"));
        Assert.Equal("200 : 404", second.Get("upstream_status"));
    }

    [Fact]
    public void The_running_try_is_timed_until_complete()
    {
        var time = new Portico.Server.Tests.Variables.ManualTimeProvider(DateTimeOffset.UnixEpoch);
        var log = new UpstreamLog(null) { HeaderTimestamp = time.GetTimestamp() };
        log.Add("127.0.0.1:9000", 200, double.NaN);
        time.Advance(TimeSpan.FromMilliseconds(1250));
        log.Complete(time);
        Assert.Equal("1.250", log.Get("upstream_response_time"));
    }

    [Fact]
    public void Nothing_tried_reads_as_not_found()
    {
        Assert.Null(new UpstreamLog(null).Get("upstream_addr"));
    }
}
