using System.Net;
using System.Text;
using Microsoft.AspNetCore.Http;
using Portico.Config.Model;
using Portico.Server.Phases;
using Portico.Server.Variables;

namespace Portico.Server.Tests.Variables;

public sealed class VariableValueTests
{
    private static readonly DateTimeOffset s_now = new(2026, 11, 24, 10, 0, 0, 123, TimeSpan.Zero);

    private static string? Get(string name, RequestContext ctx, VariableScope? scope = null)
    {
        scope ??= VariableScope.Default;
        Assert.True(VariableRef.TryResolve(name, scope, out var v), name);
        return v.Get(ctx, scope.Clock);
    }

    [Theory]
    [InlineData("remote_addr", "127.0.0.1")]
    [InlineData("remote_port", "51234")]
    [InlineData("server_addr", "127.0.0.1")]
    [InlineData("server_port", "28437")]
    [InlineData("request", "GET /a%20b?x=1&y=2 HTTP/1.1")]
    [InlineData("request_method", "GET")]
    [InlineData("request_uri", "/a%20b?x=1&y=2")]
    [InlineData("uri", "/a%20b")]
    [InlineData("document_uri", "/a%20b")]
    [InlineData("args", "x=1&y=2")]
    [InlineData("query_string", "x=1&y=2")]
    [InlineData("is_args", "?")]
    [InlineData("status", "200")]
    [InlineData("body_bytes_sent", "0")]
    [InlineData("host", "127.0.0.1")]
    [InlineData("server_name", "example.com")]
    [InlineData("scheme", "http")]
    [InlineData("https", "")]
    [InlineData("server_protocol", "HTTP/1.1")]
    [InlineData("connection", "42")]
    [InlineData("connection_requests", "3")]
    [InlineData("document_root", "/srv/www")]
    [InlineData("request_filename", "/srv/www/a%20b")]
    [InlineData("http_user_agent", "curl/7.88.1")]
    [InlineData("HTTP_USER_AGENT", "curl/7.88.1")]
    [InlineData("arg_y", "2")]
    [InlineData("arg_Y", "2")]
    public void Builtin_variables_have_nginx_values(string name, string expected)
        => Assert.Equal(expected, Get(name, TestRequests.Get("/a%20b?x=1&y=2")));

    [Theory]
    [InlineData("args")]
    [InlineData("remote_user")]
    [InlineData("http_referer")]
    [InlineData("sent_http_x_missing")]
    [InlineData("arg_zz")]
    [InlineData("cookie_c")]
    [InlineData("content_length")]
    [InlineData("content_type")]
    public void Absent_values_are_not_found(string name) => Assert.Null(Get(name, TestRequests.Get("/x")));

    [Fact]
    public void Empty_header_is_found_and_empty()
        => Assert.Equal("", Get("http_x_a", TestRequests.Get("/x", h => h.Request.Headers["X-A"] = ""))); // curl -H 'X-A;'

    [Fact]
    public void Pid_hostname_version_are_process_facts()
    {
        var ctx = TestRequests.Get();
        Assert.Equal(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), Get("pid", ctx));
        Assert.Equal(Dns.GetHostName(), Get("hostname", ctx));
        Assert.Matches(@"^\d+\.\d+\.\d+", Get("nginx_version", ctx));
    }

    [Fact]
    public void Time_variables_use_nginx_formats_in_local_time()
    {
        var zone = TimeZoneInfo.CreateCustomTimeZone("plus-one", TimeSpan.FromHours(1), "plus-one", "plus-one");
        var time = new ManualTimeProvider(s_now, zone);
        var scope = VariableScope.Default.WithTimeProvider(time);
        var ctx = TestRequests.Get();
        Assert.Equal("24/Nov/2026:11:00:00 +0100", Get("time_local", ctx, scope));
        Assert.Equal("2026-11-24T11:00:00+01:00", Get("time_iso8601", ctx, scope));
        Assert.Equal("1795514400.123", Get("msec", ctx, scope));
    }

    [Fact]
    public void Time_local_in_utc_matches_nginx()
    {
        var scope = VariableScope.Default.WithTimeProvider(new ManualTimeProvider(s_now));
        Assert.Equal("24/Nov/2026:10:00:00 +0000", Get("time_local", TestRequests.Get(), scope));
        Assert.Equal("2026-11-24T10:00:00+00:00", Get("time_iso8601", TestRequests.Get(), scope));
    }

    [Fact]
    public void Request_time_is_seconds_with_milliseconds()
    {
        var time = new ManualTimeProvider(s_now);
        var scope = VariableScope.Default.WithTimeProvider(time);
        var ctx = TestRequests.Get();
        time.SetTimestamp(ctx.StartTimestamp);
        Assert.Equal("0.000", Get("request_time", ctx, scope));
        time.Advance(TimeSpan.FromMilliseconds(3));
        Assert.Equal("0.003", Get("request_time", ctx, scope));
        time.Advance(TimeSpan.FromSeconds(61.5));
        Assert.Equal("61.503", Get("request_time", ctx, scope));
    }

    [Fact]
    public void Remote_user_comes_from_basic_auth()
    {
        var auth = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("bob:pw:x"));
        Assert.Equal("bob", Get("remote_user", TestRequests.Get("/", h => h.Request.Headers.Authorization = auth)));
        Assert.Null(Get("remote_user", TestRequests.Get("/", h => h.Request.Headers.Authorization = "Bearer abc")));
        Assert.Null(Get("remote_user", TestRequests.Get("/", h => h.Request.Headers.Authorization = "Basic " + Convert.ToBase64String("nocolon"u8))));
        Assert.Null(Get("remote_user", TestRequests.Get("/", h => h.Request.Headers.Authorization = "Basic !!!")));
    }

    [Fact]
    public void Cookie_matches_like_nginx()
    {
        // Same header as the side-by-side run: nginx 1.22 gave $cookie_c = "v2 ".
        var ctx = TestRequests.Get("/", h => h.Request.Headers.Cookie = "a=1; C = v2 ;d=4");
        Assert.Equal("v2 ", Get("cookie_c", ctx));
        Assert.Equal("1", Get("cookie_a", ctx));
        Assert.Equal("4", Get("cookie_d", ctx));
        Assert.Null(Get("cookie_e", ctx));
    }

    [Fact]
    public void Arg_is_raw_first_case_insensitive_match_with_equals()
    {
        Assert.Equal("1", Get("arg_q", TestRequests.Get("/x?Q=1&q=2")));
        Assert.Equal("%22x", Get("arg_a", TestRequests.Get("/x?b&a=%22x")));
        Assert.Null(Get("arg_b", TestRequests.Get("/x?b&a=1")));
        Assert.Equal("", Get("arg_b", TestRequests.Get("/x?a=1&b=")));
        Assert.Null(Get("arg_a", TestRequests.Get("/x?aa=1")));
    }

    [Fact]
    public void Repeated_headers_join_like_nginx_1_22()
    {
        var ctx = TestRequests.Get("/", h =>
        {
            h.Request.Headers["X-Forwarded-For"] = new(["1", "2"]);
            h.Request.Headers["X-M"] = new(["1", "2"]);
            h.Request.Headers.Cookie = new(["a=1", "b=2"]);
        });
        Assert.Equal("1, 2", Get("http_x_forwarded_for", ctx));
        Assert.Equal("1", Get("http_x_m", ctx));
        Assert.Equal("a=1; b=2", Get("http_cookie", ctx));
        Assert.Equal("2", Get("cookie_b", ctx));
    }

    [Fact]
    public void Sent_headers_and_status()
    {
        var ctx = TestRequests.Get("/", h =>
        {
            h.Response.StatusCode = 404;
            h.Response.ContentType = "text/html";
            h.Response.ContentLength = 12;
            h.Response.Headers["X-Cache"] = "HIT";
        });
        Assert.Equal("404", Get("status", ctx));
        Assert.Equal("text/html", Get("sent_http_content_type", ctx));
        Assert.Equal("12", Get("sent_http_content_length", ctx));
        Assert.Equal("HIT", Get("sent_http_x_cache", ctx));
    }

    [Fact]
    public void Status_is_three_digits()
        => Assert.Equal("099", Get("status", TestRequests.Get("/", h => h.Response.StatusCode = 99)));

    [Fact]
    public void Request_length_counts_line_headers_and_body_as_nginx()
    {
        // nginx 1.22 logged 80 for curl's GET /x (Host, User-Agent, Accept) and 149 for curl's
        // 3-byte POST answered by "return" (the body was discarded unread, so only the 149 head
        // bytes counted); a body that is read adds its length: 149 + 3.
        Assert.Equal("80", Get("request_length", TestRequests.Get("/x")));
        var post = TestRequests.Get("/p", h =>
        {
            h.Request.Method = "POST";
            h.Request.ContentLength = 3;
            h.Request.ContentType = "application/x-www-form-urlencoded";
        });
        Assert.Equal("152", Get("request_length", post));
        Assert.Equal("3", Get("content_length", post));
        Assert.Equal("application/x-www-form-urlencoded", Get("content_type", post));
    }

    [Fact]
    public void Bytes_sent_adds_the_response_head_to_the_body()
    {
        var ctx = TestRequests.Get("/", h =>
        {
            h.Response.Headers.Server = "nginx/1.22.1";
            h.Response.Headers.Date = "Tue, 24 Nov 2026 05:52:35 GMT";
            h.Response.ContentType = "text/plain";
            h.Response.ContentLength = 3;
            h.Response.Headers.Connection = "keep-alive";
        });
        ctx.BodyBytesSent = 3;

        // Same head as nginx's reply in the side-by-side run, which logged $bytes_sent 150.
        Assert.Equal("150", Get("bytes_sent", ctx));
        Assert.Equal("3", Get("body_bytes_sent", ctx));
    }

    [Fact]
    public void Ipv4_mapped_addresses_print_as_ipv4_and_unix_peers_as_unix()
    {
        Assert.Equal("10.1.2.3", Get("remote_addr", TestRequests.Get("/", h => h.Connection.RemoteIpAddress = IPAddress.Parse("::ffff:10.1.2.3"))));
        Assert.Equal("unix:", Get("remote_addr", TestRequests.Get("/", h => h.Connection.RemoteIpAddress = null)));
        Assert.Equal("::1", Get("remote_addr", TestRequests.Get("/", h => h.Connection.RemoteIpAddress = IPAddress.IPv6Loopback)));
    }

    [Fact]
    public void Http2_protocol_prints_with_minor_version()
    {
        var ctx = TestRequests.Get("/", h => h.Request.Protocol = "HTTP/2");
        Assert.Equal("HTTP/2.0", Get("server_protocol", ctx));
        Assert.Equal("GET / HTTP/2.0", Get("request", ctx));
    }

    [Fact]
    public void Request_id_is_32_hex_and_stable_per_request()
    {
        var ctx = TestRequests.Get();
        var id = Get("request_id", ctx);
        Assert.Matches("^[0-9a-f]{32}$", id);
        Assert.Equal(id, Get("request_id", ctx));
        Assert.NotEqual(id, Get("request_id", TestRequests.Get()));
    }

    [Fact]
    public void Request_filename_prefers_the_mapped_path()
    {
        var ctx = TestRequests.Get("/a");
        ctx.RequestFilename = "/other/a.html";
        ctx.DocumentRoot = "/other";
        Assert.Equal("/other/a.html", Get("request_filename", ctx));
        Assert.Equal("/other", Get("document_root", ctx));
    }

    [Fact]
    public void Ascii_fast_path_matches_the_string_value()
    {
        var time = new ManualTimeProvider(s_now);
        var scope = VariableScope.Default.WithTimeProvider(time);
        var ctx = TestRequests.Get("/x", h => h.Response.StatusCode = 304);
        ctx.BodyBytesSent = 1234567;
        var buf = new byte[64];
        foreach (var name in new[] { "status", "body_bytes_sent", "bytes_sent", "request_length", "msec", "time_local", "time_iso8601", "connection", "connection_requests", "pid", "remote_port", "server_port", "remote_addr", "server_addr" })
        {
            Assert.True(VariableRef.TryResolve(name, scope, out var v));
            Assert.True(v.IsAsciiSafe, name);
            Assert.True(v.TryFormatAscii(ctx, scope.Clock, buf, out var n), name);
            Assert.Equal(v.Get(ctx, scope.Clock), Encoding.ASCII.GetString(buf, 0, n));
        }
    }
}
