using System.IO.Compression;
using System.Text;
using Portico.EndToEnd.Tests.Logging;

namespace Portico.EndToEnd.Tests;

/// <summary>
/// <c>gzip</c>, <c>gzip_static</c> and their settings (https://nginx.org/en/docs/http/ngx_http_gzip_module.html), as
/// stock nginx.conf files and site configs set them: nginx and Portico side by side on one config. Each request's
/// status and the headers gzip touches (Content-Encoding, Vary, ETag, Content-Length, Accept-Ranges,
/// Content-Range, Transfer-Encoding) must be the same, and a compressed body must decompress to the file. The gzip
/// bytes themselves differ (nginx links zlib, .NET zlib-ng), so they are not compared.
/// </summary>
public sealed class GzipTests : IDisposable
{
    private const string Http = """
        http {
            include /etc/nginx/mime.types;
            default_type application/octet-stream;
            log_format gz '$uri $status $body_bytes_sent $gzip_ratio';
            access_log logs/gzip.log gz;
            gzip on;
            gzip_vary on;
            gzip_types text/css;
            gzip_min_length 100;
            server {
                listen 127.0.0.1:{port};
                root {root}/www;
                location /pre/ { gzip_static on; }
                location /always/ { gzip off; gzip_static always; }
                location /quiet/ { gzip_static on; gzip_vary off; }
                location /any/ { gzip_types *; }
                location /old/ { gzip_http_version 1.0; }
                location /ua/ { gzip_disable msie6 "^curl/"; }
                location /expired/ { gzip_proxied expired; expires -1h; }
                location /fresh/ { gzip_proxied expired; expires 1h; }
                location /anyproxy/ { gzip_proxied any; }
                location /nolm/ { gzip_proxied no_last_modified; }
                location /noetag/ { gzip_proxied no_etag; }
                location /level9/ { gzip_comp_level 9; }
                location /off/ { gzip off; }
                location = /text { default_type text/html; return 200 "$request_uri $request_uri $request_uri $request_uri $request_uri $request_uri $request_uri $request_uri $request_uri $request_uri $request_uri\n"; }
            }
        }
        """;

    private static readonly string s_page = string.Concat(Enumerable.Range(0, 400).Select(i => $"<p>line {i} of the page</p>\n"));
    private static readonly string s_script = string.Concat(Enumerable.Repeat("var answer = 42;\n", 200));
    private static readonly string s_css = string.Concat(Enumerable.Repeat("body { color: red; }\n", 100));

    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    private sealed record Case(string Target, string Headers = "", string Method = "GET", string Version = "HTTP/1.1");

    [Fact]
    public async Task Gzip_and_gzip_static_answer_as_nginx_does()
    {
        foreach (var dir in new[] { "", "old/", "ua/", "expired/", "fresh/", "anyproxy/", "nolm/", "noetag/", "level9/", "off/", "any/" })
        {
            _dir.Write($"www/{dir}a.html", s_page);
        }

        _dir.Write("www/small.html", "<p>under gzip_min_length</p>");
        _dir.Write("www/a.css", s_css);
        _dir.Write("www/a.js", s_script);
        _dir.Write("www/any/a.png", s_page);
        foreach (var dir in new[] { "pre", "always", "quiet" })
        {
            _dir.Write($"www/{dir}/app.js", s_script);
            _dir.Write($"www/{dir}/app.js.gz", Gzip(s_script));
            _dir.Write($"www/{dir}/plain.css", s_css);
        }

        Directory.CreateDirectory(Path.Combine(_dir.Path, "logs"));

        const string gzip = "Accept-Encoding: gzip\r\n";
        const string msie6 = "User-Agent: Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)\r\n";
        const string msie6Sv1 = "User-Agent: Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)\r\n";
        const string via = "Via: 1.1 cache\r\n";
        var cases = new[]
        {
            new Case("/a.html", gzip),
            new Case("/a.html"),
            new Case("/a.html", "Accept-Encoding: gzip;q=0\r\n"),
            new Case("/a.html", "Accept-Encoding: gzip; q=0.000\r\n"),
            new Case("/a.html", "Accept-Encoding: x-gzip\r\n"),
            new Case("/a.html", "Accept-Encoding: deflate, gzip;q=0.5\r\n"),
            new Case("/a.html", "Accept-Encoding: br,GZIP\r\n"),
            new Case("/a.html", "Accept-Encoding: *\r\n"),
            new Case("/a.html", gzip, Method: "HEAD"),
            new Case("/a.html", gzip + "Range: bytes=0-9\r\n"),
            new Case("/a.html", "Range: bytes=0-9\r\n"),
            new Case("/a.html", gzip, Version: "HTTP/1.0"),
            new Case("/old/a.html", gzip, Version: "HTTP/1.0"),
            new Case("/small.html", gzip),
            new Case("/a.css", gzip),
            new Case("/a.js", gzip),
            new Case("/any/a.png", gzip),
            new Case("/missing.html", gzip),
            new Case("/off/a.html", gzip),
            new Case("/level9/a.html", gzip),
            new Case("/text", gzip),
            new Case("/ua/a.html", gzip + "User-Agent: curl/8.0\r\n"),
            new Case("/ua/a.html", gzip + msie6),
            new Case("/ua/a.html", gzip + msie6Sv1),
            new Case("/ua/a.html", gzip + "User-Agent: Opera/9.0 (MSIE 6.0)\r\n"),
            new Case("/a.html", gzip + via),
            new Case("/expired/a.html", gzip + via),
            new Case("/fresh/a.html", gzip + via),
            new Case("/anyproxy/a.html", gzip + via),
            new Case("/nolm/a.html", gzip + via),
            new Case("/noetag/a.html", gzip + via),
            new Case("/pre/app.js", gzip),
            new Case("/pre/app.js"),
            new Case("/pre/app.js", gzip + "Range: bytes=0-9\r\n"),
            new Case("/pre/app.js", gzip, Method: "HEAD"),
            new Case("/pre/app.js", gzip, Method: "POST"),
            new Case("/pre/plain.css", gzip),
            new Case("/always/app.js"),
            new Case("/quiet/app.js"),
            new Case("/quiet/app.js", gzip),
        };

        await using var servers = await NginxBesidePortico.StartAsync(_dir, Http);
        var nginx = new Dictionary<Case, string>();
        foreach (var (server, port) in servers.Servers)
        {
            foreach (var c in cases)
            {
                var response = await RawHttp.SendAsync(port, $"{c.Method} {c.Target} {c.Version}\r\nHost: localhost\r\n{c.Headers}Connection: close\r\n\r\n", c.Method == "HEAD");
                var seen = Describe(response);
                if (server == "nginx")
                {
                    nginx[c] = seen;
                }
                else
                {
                    Assert.True(nginx[c] == seen, $"{c}:\nnginx   {nginx[c]}\nportico {seen}");
                }

                if (response.Header("Content-Encoding") == "gzip" && c.Method != "HEAD")
                {
                    var plain = Gunzip(response.Body);
                    var expected = c.Target switch
                    {
                        _ when c.Target.EndsWith(".css", StringComparison.Ordinal) => s_css,
                        "/text" => string.Join(' ', Enumerable.Repeat("/text", 11)) + "\n",
                        "/missing.html" => null,
                        _ when c.Target.EndsWith(".js", StringComparison.Ordinal) => s_script,
                        _ => s_page,
                    };
                    if (expected is null)
                    {
                        Assert.Contains("<title>404 Not Found</title>", plain, StringComparison.Ordinal);
                    }
                    else
                    {
                        Assert.True(expected == plain, $"{server} {c}: the body does not decompress to the file");
                    }
                }
            }
        }

        // The cases that matter, as nginx gave them.
        Assert.Equal("200 enc=gzip vary=Accept-Encoding etag=W/ len=- ranges=- range=- chunked", Strip(nginx[cases[0]]));
        Assert.Equal("200 enc=- vary=Accept-Encoding etag=\" len=11000 ranges=bytes range=- -", Strip(nginx[cases[1]]));
        Assert.StartsWith("206 enc=-", nginx[new Case("/a.html", "Range: bytes=0-9\r\n")], StringComparison.Ordinal);
        Assert.StartsWith("200 enc=gzip vary=Accept-Encoding etag=\" len=", nginx[new Case("/pre/app.js", gzip)], StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_weak_etag_from_a_compressed_response_revalidates()
    {
        _dir.Write("www/a.html", s_page);
        await using var servers = await NginxBesidePortico.StartAsync(_dir, Http.Replace("access_log logs/gzip.log gz;", "access_log off;", StringComparison.Ordinal));
        foreach (var (server, port) in servers.Servers)
        {
            var first = await RawHttp.GetAsync(port, "/a.html", extraHeaders: "Accept-Encoding: gzip\r\n");
            var etag = first.Header("ETag");
            Assert.True(etag is not null && etag.StartsWith("W/\"", StringComparison.Ordinal), $"{server}: {etag}");
            var again = await RawHttp.GetAsync(port, "/a.html", extraHeaders: $"Accept-Encoding: gzip\r\nIf-None-Match: {etag}\r\n");
            Assert.True(again.Status == 304, $"{server}: {again.StatusLine}");
        }
    }

    [Fact]
    public async Task A_precompressed_file_revalidates_without_its_encoding()
    {
        _dir.Write("www/pre/app.js", s_script);
        _dir.Write("www/pre/app.js.gz", Gzip(s_script));
        await using var servers = await NginxBesidePortico.StartAsync(_dir, Http.Replace("access_log logs/gzip.log gz;", "access_log off;", StringComparison.Ordinal));
        var seen = new List<string>();
        foreach (var (server, port) in servers.Servers)
        {
            var first = await RawHttp.GetAsync(port, "/pre/app.js", extraHeaders: "Accept-Encoding: gzip\r\n");
            Assert.Equal("gzip", first.Header("Content-Encoding"));
            var again = await RawHttp.GetAsync(port, "/pre/app.js", extraHeaders: $"Accept-Encoding: gzip\r\nIf-None-Match: {first.Header("ETag")}\r\n");
            seen.Add($"{again.Status} enc={again.Header("Content-Encoding") ?? "-"} vary={Joined(again.HeaderValues("Vary"))} etag={Prefix(again.Header("ETag"))}");
        }

        Assert.Equal("304 enc=- vary=Accept-Encoding etag=\"", seen[0]);
        Assert.Equal(seen[0], seen[1]);
    }

    [Fact]
    public async Task The_access_log_counts_compressed_bytes_and_the_ratio()
    {
        _dir.Write("www/a.html", s_page);
        Directory.CreateDirectory(Path.Combine(_dir.Path, "logs"));
        await using var servers = await NginxBesidePortico.StartAsync(_dir, Http);
        var response = await RawHttp.GetAsync(servers.PorticoPort, "/a.html", extraHeaders: "Accept-Encoding: gzip\r\n");
        var plainResponse = await RawHttp.GetAsync(servers.PorticoPort, "/a.html");
        Assert.Equal("gzip", response.Header("Content-Encoding"));
        // Each line is written once its response is out, and the two may come from different loops: not in order.
        var lines = await LogServer.WaitForLinesAsync(Path.Combine(_dir.Path, "logs", "gzip.log"), 2);
        var fields = lines.Single(l => !l.EndsWith(" -", StringComparison.Ordinal)).Split(' ');
        Assert.Equal(["/a.html", "200", response.Body.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)], fields[..3]);
        var ratio = double.Parse(fields[3], System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal((double)s_page.Length / response.Body.Length, ratio, 0.006);
        Assert.Equal($"/a.html 200 {plainResponse.Body.Length} -", lines.Single(l => l.EndsWith(" -", StringComparison.Ordinal)));
    }

    /// <summary>What gzip decides, in one line: status, then the headers it sets or clears. An error page's length is
    /// not compared: its signature names the server.</summary>
    private static string Describe(RawResponse r) =>
        $"{r.Status} enc={r.Header("Content-Encoding") ?? "-"} vary={Joined(r.HeaderValues("Vary"))}"
        + $" etag={Prefix(r.Header("ETag"))} len={(r.Status >= 400 && r.Header("Content-Length") is not null ? "page" : r.Header("Content-Length") ?? "-")} ranges={r.Header("Accept-Ranges") ?? "-"}"
        + $" range={r.Header("Content-Range") ?? "-"} {(r.Header("Transfer-Encoding") is null ? "-" : "chunked")}";

    private static string Joined(IEnumerable<string> values) => string.Join(',', values) is { Length: > 0 } v ? v : "-";

    // A strong tag shows as its quote, a weak one as W/: the values themselves (mtime-size) are the same file's.
    private static string Prefix(string? etag) => etag is null ? "-" : etag.StartsWith("W/", StringComparison.Ordinal) ? "W/" : "\"";

    // The page's length as nginx serves it is s_page's; only the first digits matter for these assertions.
    private static string Strip(string line) => line.Replace($"len={s_page.Length}", "len=11000", StringComparison.Ordinal);

    private static byte[] Gzip(string text)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.SmallestSize))
        {
            gzip.Write(Encoding.UTF8.GetBytes(text));
        }

        return output.ToArray();
    }

    private static string Gunzip(byte[] body)
    {
        using var input = new GZipStream(new MemoryStream(body), CompressionMode.Decompress);
        using var reader = new StreamReader(input, Encoding.UTF8);
        return reader.ReadToEnd();
    }
}
