using System.Text;
using Portico.Config;
using Portico.Config.Model;

namespace Portico.Server.Tests.Static;

/// <summary>The static responders behind real Kestrel, spoken to over raw sockets.</summary>
public sealed class StaticFileFunctionalTests : IAsyncLifetime
{
    internal static readonly DateTimeOffset Mtime = new(2026, 11, 20, 10, 0, 5, TimeSpan.Zero);
    private const string Tag = "\"6b001a25-1a\"";
    private const string Date = "Fri, 20 Nov 2026 10:00:05 GMT";

    private readonly TempDir _dir = new();
    private readonly byte[] _big = new byte[5 * 1024 * 1024 + 17];
    private StaticHost _host = null!;

    internal static LocationSettings Settings(AutoindexFormat format = AutoindexFormat.Html, bool etag = true, bool exactSize = true) => new()
    {
        Root = new ConfigValue("/", new SourceLocation("test", 1)),
        Types = new Dictionary<string, string> { ["txt"] = "text/plain", ["html"] = "text/html", ["bin"] = "application/octet-stream" },
        DefaultType = "application/octet-stream",
        Autoindex = true,
        AutoindexFormat = format,
        AutoindexExactSize = exactSize,
        Etag = etag,
    };

    public async Task InitializeAsync()
    {
        new Random(42).NextBytes(_big);
        _dir.Write("a.txt", Encoding.ASCII.GetBytes("abcdefghijklmnopqrstuvwxyz"), Mtime);
        _dir.Write("big.bin", _big, Mtime);
        _dir.Write("empty.txt", [], Mtime);
        _host = await StaticHost.StartAsync(_dir.Path, Settings());
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        _dir.Dispose();
    }

    private Task<RawResponse> Get(string target, params (string, string)[] headers) => RawHttp.SendAsync(_host.BaseAddress, "GET", target, headers);

    [Fact]
    public async Task Get_returns_200_with_nginx_headers()
    {
        RawResponse r = await Get("/a.txt");
        Assert.Equal(200, r.Status);
        Assert.Equal("text/plain", r.Header("Content-Type"));
        Assert.Equal("26", r.Header("Content-Length"));
        Assert.Equal(Tag, r.Header("ETag"));
        Assert.Equal(Date, r.Header("Last-Modified"));
        Assert.Equal("bytes", r.Header("Accept-Ranges"));
        Assert.Equal("abcdefghijklmnopqrstuvwxyz", r.BodyText);
    }

    [Fact]
    public async Task Head_returns_headers_without_body()
    {
        RawResponse r = await RawHttp.SendAsync(_host.BaseAddress, "HEAD", "/big.bin");
        Assert.Equal(200, r.Status);
        Assert.Equal(_big.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), r.Header("Content-Length"));
        Assert.Empty(r.Body);
    }

    [Fact]
    public async Task Empty_file_is_200_with_zero_length()
    {
        RawResponse r = await Get("/empty.txt", ("Range", "bytes=0-"));
        Assert.Equal(200, r.Status);
        Assert.Equal("0", r.Header("Content-Length"));
        Assert.Empty(r.Body);
    }

    [Fact]
    public async Task If_none_match_returns_304_without_body_type_or_length()
    {
        RawResponse r = await Get("/a.txt", ("If-None-Match", Tag));
        Assert.Equal(304, r.Status);
        Assert.Equal(Tag, r.Header("ETag"));
        Assert.Equal(Date, r.Header("Last-Modified"));
        Assert.Null(r.Header("Content-Length"));
        Assert.Null(r.Header("Content-Type"));
        Assert.Null(r.Header("Accept-Ranges"));
        Assert.Empty(r.Body);
    }

    [Fact]
    public async Task If_modified_since_equal_date_returns_304()
    {
        Assert.Equal(304, (await Get("/a.txt", ("If-Modified-Since", Date))).Status);
        Assert.Equal(200, (await Get("/a.txt", ("If-Modified-Since", "Fri, 20 Nov 2026 10:00:06 GMT"))).Status);
    }

    [Fact]
    public async Task If_match_mismatch_returns_412_without_validators()
    {
        RawResponse r = await Get("/a.txt", ("If-Match", "\"other\""));
        Assert.Equal(412, r.Status);
        Assert.Null(r.Header("ETag"));
    }

    [Fact]
    public async Task Single_range_returns_206_with_content_range()
    {
        RawResponse r = await Get("/a.txt", ("Range", "bytes=2-4"));
        Assert.Equal(206, r.Status);
        Assert.Equal("bytes 2-4/26", r.Header("Content-Range"));
        Assert.Equal("3", r.Header("Content-Length"));
        Assert.Null(r.Header("Accept-Ranges"));
        Assert.Equal("cde", r.BodyText);
    }

    [Fact]
    public async Task Suffix_range_returns_last_bytes()
    {
        RawResponse r = await Get("/a.txt", ("Range", "bytes=-3"));
        Assert.Equal(206, r.Status);
        Assert.Equal("bytes 23-25/26", r.Header("Content-Range"));
        Assert.Equal("xyz", r.BodyText);
    }

    [Fact]
    public async Task Range_with_two_parts_returns_multipart()
    {
        _host.NextBoundary = 7;
        RawResponse r = await Get("/a.txt", ("Range", "bytes=0-0,2-3"));
        Assert.Equal(206, r.Status);
        Assert.Equal("multipart/byteranges; boundary=00000000000000000007", r.Header("Content-Type"));
        string expected =
            "\r\n--00000000000000000007\r\nContent-Type: text/plain\r\nContent-Range: bytes 0-0/26\r\n\r\na" +
            "\r\n--00000000000000000007\r\nContent-Type: text/plain\r\nContent-Range: bytes 2-3/26\r\n\r\ncd" +
            "\r\n--00000000000000000007--\r\n";
        Assert.Equal(expected, r.BodyText);
        Assert.Equal(expected.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), r.Header("Content-Length"));
    }

    [Fact]
    public async Task Multipart_from_a_large_file_is_parsed_part_by_part()
    {
        _host.NextBoundary = 3;
        RawResponse r = await Get("/big.bin", ("Range", "bytes=100-199,4000000-4000099,-10"));
        Assert.Equal(206, r.Status);
        string boundary = "--00000000000000000003";
        var parts = Multipart.Split(r.Body, boundary);
        Assert.Equal(3, parts.Count);
        Assert.Equal($"bytes 100-199/{_big.Length}", parts[0].Headers["Content-Range"]);
        Assert.Equal("application/octet-stream", parts[0].Headers["Content-Type"]);
        Assert.Equal(_big.AsSpan(100, 100).ToArray(), parts[0].Body);
        Assert.Equal(_big.AsSpan(4_000_000, 100).ToArray(), parts[1].Body);
        Assert.Equal($"bytes {_big.Length - 10}-{_big.Length - 1}/{_big.Length}", parts[2].Headers["Content-Range"]);
        Assert.Equal(_big.AsSpan(_big.Length - 10).ToArray(), parts[2].Body);
    }

    [Fact]
    public async Task Unsatisfiable_range_returns_416_with_star_content_range()
    {
        RawResponse r = await Get("/a.txt", ("Range", "bytes=30-"));
        Assert.Equal(416, r.Status);
        Assert.Equal("bytes */26", r.Header("Content-Range"));
    }

    [Fact]
    public async Task Invalid_range_syntax_is_416_as_in_nginx()
    {
        Assert.Equal(416, (await Get("/a.txt", ("Range", "bytes=abc"))).Status);
        Assert.Equal(200, (await Get("/a.txt", ("Range", "items=0-1"))).Status);
    }

    [Fact]
    public async Task If_range_match_returns_206_and_mismatch_returns_200()
    {
        Assert.Equal(206, (await Get("/a.txt", ("Range", "bytes=0-1"), ("If-Range", Tag))).Status);
        Assert.Equal(206, (await Get("/a.txt", ("Range", "bytes=0-1"), ("If-Range", Date))).Status);
        RawResponse mismatch = await Get("/a.txt", ("Range", "bytes=0-1"), ("If-Range", "\"old\""));
        Assert.Equal(200, mismatch.Status);
        Assert.Equal(26, mismatch.Body.Length);
    }

    [Fact]
    public async Task Large_file_arrives_intact()
    {
        RawResponse r = await Get("/big.bin");
        Assert.Equal(200, r.Status);
        Assert.True(_big.AsSpan().SequenceEqual(r.Body));
    }

    [Fact]
    public async Task Range_inside_large_file_reads_from_offset()
    {
        RawResponse r = await Get("/big.bin", ("Range", "bytes=3000000-3999999"));
        Assert.Equal(206, r.Status);
        Assert.True(_big.AsSpan(3_000_000, 1_000_000).SequenceEqual(r.Body));
    }

    [Fact]
    public async Task Etag_off_sends_no_etag()
    {
        await using StaticHost host = await StaticHost.StartAsync(_dir.Path, Settings(etag: false));
        RawResponse r = await RawHttp.SendAsync(host.BaseAddress, "GET", "/a.txt");
        Assert.Null(r.Header("ETag"));
        Assert.Equal(Date, r.Header("Last-Modified"));
    }
}

/// <summary>Splits a multipart/byteranges body (RFC 9110 §14.6).</summary>
internal static class Multipart
{
    public sealed record Part(Dictionary<string, string> Headers, byte[] Body);

    public static List<Part> Split(byte[] body, string dashBoundary)
    {
        byte[] delimiter = Encoding.ASCII.GetBytes("\r\n" + dashBoundary);
        var parts = new List<Part>();
        int p = body.AsSpan().IndexOf(delimiter);
        Assert.Equal(0, p);
        while (true)
        {
            p += delimiter.Length;
            if (body.AsSpan(p).StartsWith("--\r\n"u8))
            {
                Assert.Equal(body.Length, p + 4);
                return parts;
            }

            p += 2; // CRLF after the boundary
            int headerEnd = body.AsSpan(p).IndexOf("\r\n\r\n"u8) + p;
            var headers = Encoding.ASCII.GetString(body, p, headerEnd - p).Split("\r\n")
                .Select(l => l.Split(": ", 2)).ToDictionary(kv => kv[0], kv => kv[1]);
            int dataStart = headerEnd + 4;
            int next = body.AsSpan(dataStart).IndexOf(delimiter) + dataStart;
            parts.Add(new Part(headers, body[dataStart..next]));
            p = next;
        }
    }
}
