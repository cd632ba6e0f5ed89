using System.Buffers;
using System.Text;
using Portico.Config.Model;
using Portico.Server.Static;

namespace Portico.Server.Tests.Static;

public sealed class AutoindexTests : IAsyncLifetime
{
    private static readonly DateTimeOffset s_mtime = new(2026, 11, 24, 10, 0, 0, TimeSpan.Zero);
    private readonly TempDir _dir = new();

    /// <summary>A directory of hostile names with fixed mtimes; shared with the nginx side-by-side test.</summary>
    internal static void Populate(TempDir dir, DateTimeOffset mtime)
    {
        dir.Write("dir/<script>&\"q x é%.txt", "<b>x</b>"u8.ToArray(), mtime);
        dir.Write("dir/a b+c#d?e;f.txt", new byte[12000], mtime);
        dir.Write("dir/this-is-a-very-long-file-name-that-exceeds-fifty-characters.txt", "x"u8.ToArray(), mtime);
        dir.Write("dir/" + new string('é', 55) + ".txt", "y"u8.ToArray(), mtime);
        dir.Write("dir/exactly-fifty-bytes-long-name-for-a-directory-xyzw/f", "z"u8.ToArray(), mtime);
        dir.Write("dir/<b>&amp;-long-hostile-name-that-is-truncated-after-47.txt", new byte[2_000_000], mtime);
        dir.Write("dir/.hidden", "h"u8.ToArray(), mtime);
        dir.Write("dir/sub/inner.txt", "i"u8.ToArray(), mtime);
        dir.Write("dir/Zeta.txt", new byte[1_600_000_000 / 100_000], mtime);
        foreach (string d in new[] { "dir/sub", "dir/exactly-fifty-bytes-long-name-for-a-directory-xyzw", "dir" })
        {
            Directory.SetLastWriteTimeUtc(Path.Combine(dir.Path, d), mtime.UtcDateTime);
        }
    }

    public Task InitializeAsync()
    {
        Populate(_dir, s_mtime);
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        _dir.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public void Href_escaping_follows_nginx_uri_component_table()
    {
        var b = new ArrayBufferWriter<byte>();
        AutoindexResponder.EscapeUri(b, Encoding.UTF8.GetBytes("<script>&\"q x é%.txt !$'()*,-./:;=?@[\\]^_`{|}~"));
        Assert.Equal("%3Cscript%3E%26%22q%20x%20%C3%A9%25.txt%20%21%24%27%28%29%2A%2C-.%2F%3A%3B%3D%3F%40%5B%5C%5D%5E_%60%7B%7C%7D~",
            Encoding.UTF8.GetString(b.WrittenSpan));
    }

    [Fact]
    public void Html_escaping_replaces_only_lt_gt_amp_quote()
    {
        Assert.Equal("&lt;script&gt;&amp;&quot;q' x é%", Encoding.UTF8.GetString(AutoindexResponder.EscapeHtml(Encoding.UTF8.GetBytes("<script>&\"q' x é%"))));
    }

    [Fact]
    public void Json_escaping_handles_quotes_backslashes_and_controls()
    {
        var b = new ArrayBufferWriter<byte>();
        AutoindexResponder.EscapeJson(b, Encoding.UTF8.GetBytes("a\"b\\c\td\u0001é"));
        Assert.Equal("a\\\"b\\\\c\\td\\u0001é", Encoding.UTF8.GetString(b.WrittenSpan));
    }

    [Theory]
    [InlineData(0, "      0")]
    [InlineData(9999, "   9999")]
    [InlineData(10000, "    10K")]
    [InlineData(12000, "    12K")]
    [InlineData(1048575, "  1024K")]
    [InlineData(2000000, "     2M")]
    [InlineData(1073741824, "     1G")]
    public void Inexact_sizes_round_like_nginx(long size, string expected) => Assert.Equal(expected, AutoindexResponder.HumanSize(size));

    [Theory]
    [InlineData("callback=cb", true, "cb")]
    [InlineData("x=1&CALLBACK=a.b_c9", true, "a.b_c9")]
    [InlineData("xcallback=cb", true, "")]
    [InlineData("callback=a-b", false, "")]
    [InlineData("callback=%61", false, "")]
    [InlineData("", true, "")]
    public void Jsonp_callback_is_validated(string args, bool ok, string expected)
    {
        Assert.Equal(ok, AutoindexResponder.TryGetCallback(args, out string callback));
        if (ok)
        {
            Assert.Equal(expected, callback);
        }
    }

    private const string ExpectedHtml =
        "<html>\r\n<head><title>Index of /dir/</title></head>\r\n<body>\r\n<h1>Index of /dir/</h1><hr><pre><a href=\"../\">../</a>\r\n" +
        "<a href=\"exactly-fifty-bytes-long-name-for-a-directory-xyzw/\">exactly-fifty-bytes-long-name-for-a-directory-xyzw</a> 24-Nov-2026 10:00                   -\r\n" +
        "<a href=\"sub/\">sub/</a>                                               24-Nov-2026 10:00                   -\r\n" +
        "<a href=\"%3Cb%3E%26amp%3B-long-hostile-name-that-is-truncated-after-47.txt\">&lt;b&gt;&amp;amp;-long-hostile-name-that-is-truncated-af..&gt;</a> 24-Nov-2026 10:00             2000000\r\n" +
        "<a href=\"%3Cscript%3E%26%22q%20x%20%C3%A9%25.txt\">&lt;script&gt;&amp;&quot;q x é%.txt</a>                              24-Nov-2026 10:00                   8\r\n" +
        "<a href=\"Zeta.txt\">Zeta.txt</a>                                           24-Nov-2026 10:00               16000\r\n" +
        "<a href=\"a%20b%2Bc%23d%3Fe%3Bf.txt\">a b+c#d?e;f.txt</a>                                    24-Nov-2026 10:00               12000\r\n" +
        "<a href=\"this-is-a-very-long-file-name-that-exceeds-fifty-characters.txt\">this-is-a-very-long-file-name-that-exceeds-fift..&gt;</a> 24-Nov-2026 10:00                   1\r\n";

    [Fact]
    public async Task Html_listing_matches_nginx_layout()
    {
        await using StaticHost host = await StaticHost.StartAsync(_dir.Path, StaticFileFunctionalTests.Settings());
        RawResponse r = await RawHttp.SendAsync(host.BaseAddress, "GET", "/dir/");
        Assert.Equal(200, r.Status);
        Assert.Equal("text/html", r.Header("Content-Type"));
        Assert.Equal("chunked", r.Header("Transfer-Encoding"));
        string body = Encoding.Latin1.GetString(r.Body);
        Assert.StartsWith(Encoding.Latin1.GetString(Encoding.UTF8.GetBytes(ExpectedHtml)), body, StringComparison.Ordinal);

        // 55 two-byte characters: cut after 47 bytes, i.e. in the middle of the 24th character, as nginx does.
        string longUtf8 = Encoding.Latin1.GetString(Encoding.UTF8.GetBytes(new string('é', 23))) + "\u00c3..&gt;</a> 24-Nov-2026 10:00                   1\r\n";
        Assert.EndsWith(longUtf8 + "</pre><hr></body>\r\n</html>\r\n", body, StringComparison.Ordinal);
        Assert.DoesNotContain("hidden", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Json_listing_matches_nginx_layout()
    {
        await using StaticHost host = await StaticHost.StartAsync(_dir.Path, StaticFileFunctionalTests.Settings(AutoindexFormat.Json));
        RawResponse r = await RawHttp.SendAsync(host.BaseAddress, "GET", "/dir/");
        Assert.Equal("application/json", r.Header("Content-Type"));
        string body = r.BodyText;
        Assert.StartsWith("[\r\n{ \"name\":\"exactly-fifty-bytes-long-name-for-a-directory-xyzw\", \"type\":\"directory\", \"mtime\":\"Tue, 24 Nov 2026 10:00:00 GMT\" },\r\n", body, StringComparison.Ordinal);
        Assert.Contains("{ \"name\":\"<script>&\\\"q x é%.txt\", \"type\":\"file\", \"mtime\":\"Tue, 24 Nov 2026 10:00:00 GMT\", \"size\":8 },\r\n", body, StringComparison.Ordinal);
        Assert.EndsWith(".txt\", \"type\":\"file\", \"mtime\":\"Tue, 24 Nov 2026 10:00:00 GMT\", \"size\":1 }\r\n]", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Xml_listing_matches_nginx_layout()
    {
        await using StaticHost host = await StaticHost.StartAsync(_dir.Path, StaticFileFunctionalTests.Settings(AutoindexFormat.Xml));
        RawResponse r = await RawHttp.SendAsync(host.BaseAddress, "GET", "/dir/");
        Assert.Equal("text/xml; charset=utf-8", r.Header("Content-Type"));
        string body = r.BodyText;
        Assert.StartsWith("<?xml version=\"1.0\"?>\r\n<list>\r\n<directory mtime=\"2026-11-24T10:00:00Z\">exactly-fifty-bytes-long-name-for-a-directory-xyzw</directory>\r\n", body, StringComparison.Ordinal);
        Assert.Contains("<file mtime=\"2026-11-24T10:00:00Z\" size=\"8\">&lt;script&gt;&amp;&quot;q x é%.txt</file>\r\n", body, StringComparison.Ordinal);
        Assert.EndsWith("</list>\r\n", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Jsonp_wraps_json_in_callback_and_rejects_bad_names()
    {
        await using StaticHost host = await StaticHost.StartAsync(_dir.Path, StaticFileFunctionalTests.Settings(AutoindexFormat.Jsonp));
        RawResponse r = await RawHttp.SendAsync(host.BaseAddress, "GET", "/dir/?callback=cb");
        Assert.Equal("application/javascript", r.Header("Content-Type"));
        Assert.StartsWith("/* callback */\r\ncb([\r\n{ ", r.BodyText, StringComparison.Ordinal);
        Assert.EndsWith(" }\r\n]);", r.BodyText, StringComparison.Ordinal);
        Assert.Equal("application/json", (await RawHttp.SendAsync(host.BaseAddress, "GET", "/dir/")).Header("Content-Type"));
        Assert.Equal(400, (await RawHttp.SendAsync(host.BaseAddress, "GET", "/dir/?callback=a(b")).Status);
    }

    [Fact]
    public async Task Missing_directory_is_404()
    {
        var responder = new AutoindexResponder(TimeProvider.System);
        var http = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        StaticSendResult result = await responder.SendAsync(http, Path.Combine(_dir.Path, "nope"), "/nope/", new AutoindexOptions(), default);
        Assert.Equal(new StaticSendResult(404, 0, false), result);
    }

    [Fact]
    public async Task Unreadable_directory_is_403_for_unprivileged_users()
    {
        if (OperatingSystem.IsWindows() || Environment.IsPrivilegedProcess)
        {
            return; // root reads any directory
        }

        string locked = Path.Combine(_dir.Path, "locked");
        Directory.CreateDirectory(locked);
        File.SetUnixFileMode(locked, UnixFileMode.None);
        var responder = new AutoindexResponder(TimeProvider.System);
        StaticSendResult result = await responder.SendAsync(new Microsoft.AspNetCore.Http.DefaultHttpContext(), locked, "/locked/", new AutoindexOptions(), default);
        Assert.Equal(403, result.StatusCode);
        File.SetUnixFileMode(locked, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    [Fact]
    public async Task Localtime_shifts_dates_by_the_local_offset()
    {
        var time = new OffsetTimeProvider(TimeSpan.FromHours(3));
        var responder = new AutoindexResponder(time);
        var http = new Microsoft.AspNetCore.Http.DefaultHttpContext();
        var body = new MemoryStream();
        http.Response.Body = body;
        await responder.SendAsync(http, Path.Combine(_dir.Path, "dir"), "/dir/", new AutoindexOptions(Localtime: true), default);
        Assert.Contains("24-Nov-2026 13:00", Encoding.UTF8.GetString(body.ToArray()), StringComparison.Ordinal);
    }

    private sealed class OffsetTimeProvider(TimeSpan offset) : TimeProvider
    {
        public override TimeZoneInfo LocalTimeZone { get; } = TimeZoneInfo.CreateCustomTimeZone("test", offset, "test", "test");
    }
}
