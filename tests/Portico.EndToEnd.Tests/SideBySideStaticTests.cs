using System.Text.RegularExpressions;

namespace Portico.EndToEnd.Tests;

/// <summary>
/// The same requests against nginx 1.22 and Portico, with the same config and files:
/// status line, the headers a browser or CDN acts on, and the body must agree (after
/// replacing the server's own name and port).
/// </summary>
public sealed partial class SideBySideStaticTests : IClassFixture<SideBySideFixture>
{
    private static readonly string[] s_comparedHeaders =
    [
        "Content-Type", "Content-Length", "ETag", "Last-Modified", "Location", "Content-Range",
        "Accept-Ranges", "Cache-Control", "X-Test", "X-Always", "Transfer-Encoding",
    ];

    private readonly SideBySideFixture _fixture;

    public SideBySideStaticTests(SideBySideFixture fixture) => _fixture = fixture;

    [RequiresTheory(NginxProcess.Binary)]
    [InlineData("GET /hello.txt")]
    [InlineData("HEAD /hello.txt")]
    [InlineData("GET /empty.txt")]
    [InlineData("GET /data.bin")]
    [InlineData("GET /style.css")]
    [InlineData("GET /")]
    [InlineData("GET /sub/")]
    [InlineData("GET /sub")]
    [InlineData("GET /sub?a=1")]
    [InlineData("GET /noindex/")]
    [InlineData("GET /missing")]
    [InlineData("GET /missing/")]
    [InlineData("POST /hello.txt")]
    [InlineData("PUT /hello.txt")]
    [InlineData("DELETE /missing")]
    [InlineData("GET /listing/")]
    [InlineData("GET /listing-approx/")]
    [InlineData("GET /json/")]
    [InlineData("GET /xml/")]
    [InlineData("GET /img/logo.png")]
    [InlineData("GET /photos/logo.png")]
    [InlineData("GET /spa/app.js")]
    [InlineData("GET /spa/deep/route")]
    [InlineData("GET /moved")]
    [InlineData("GET /text?x=1")]
    [InlineData("GET /headers/h.txt")]
    [InlineData("GET /headers/none")]
    [InlineData("GET /plain/none")]
    [InlineData("GET /errors/404.html")]
    [InlineData("GET /a/../hello.txt")]
    [InlineData("GET //hello.txt")]
    [InlineData("GET /%68ello.txt")]
    [InlineData("GET /../hello.txt")]
    [InlineData("GET /hello.txt", "Range: bytes=0-4")]
    [InlineData("GET /hello.txt", "Range: bytes=-3")]
    [InlineData("GET /hello.txt", "Range: bytes=6-")]
    [InlineData("GET /hello.txt", "Range: bytes=50-60")]
    [InlineData("GET /hello.txt", "Range: bytes=abc")]
    [InlineData("GET /data.bin", "Range: bytes=0-1,10-20,4990-")]
    [InlineData("GET /hello.txt", "If-None-Match: \"nope\"")]
    [InlineData("GET /hello.txt", "If-Modified-Since: Sun, 01 Nov 2026 12:00:00 GMT")]
    [InlineData("GET /hello.txt", "If-Modified-Since: Sat, 31 Oct 2026 12:00:00 GMT")]
    [InlineData("GET /hello.txt", "If-Unmodified-Since: Sat, 31 Oct 2026 12:00:00 GMT")]
    [InlineData("GET /hello.txt", "If-Match: \"nope\"")]
    [InlineData("GET /hello.txt", "Range: bytes=0-1\r\nIf-Range: \"nope\"")]
    public Task Same_response_as_nginx(string requestLine, string headers = "") => CompareAsync(requestLine, "localhost", headers);

    [RequiresTheory(NginxProcess.Binary)]
    [InlineData("GET /", "loc.test")]
    [InlineData("GET /index.html", "loc.test")]
    [InlineData("GET /documents/a.html", "loc.test")]
    [InlineData("GET /documents/a.jpg", "loc.test")]
    [InlineData("GET /images/a.jpg", "loc.test")]
    [InlineData("GET /a.JPEG", "loc.test")]
    [InlineData("GET /nested/a.txt", "loc.test")]
    [InlineData("GET /nested/a.html", "loc.test")]
    [InlineData("GET /host", "LOC.test:8080")]
    [InlineData("GET /host", "a.b.wild.test")]
    [InlineData("GET /host", "www.suffix.org")]
    [InlineData("GET /host", "alice.re.test")]
    [InlineData("GET /host", "unknown.test")]
    [InlineData("GET /redirect?x=1", "loc.test")]
    [InlineData("GET /found", "loc.test")]
    [InlineData("GET /code", "loc.test")]
    [InlineData("GET /tf/none", "loc.test")]
    [InlineData("GET /tf/", "loc.test")]
    public Task Same_routing_as_nginx(string requestLine, string host) => CompareAsync(requestLine, host, "");

    private async Task CompareAsync(string requestLine, string host, string headers)
    {
        Assert.True(_fixture.Available, "nginx side-by-side fixture did not start");
        var parts = requestLine.Split(' ');
        var extra = headers.Length > 0 ? headers + "\r\n" : "";
        var body = parts[0] is "POST" or "PUT" ? "Content-Length: 0\r\n" : "";
        var request = $"{parts[0]} {parts[1]} HTTP/1.1\r\nHost: {host}\r\n{extra}{body}Connection: close\r\n\r\n";
        var isHead = parts[0] == "HEAD";
        var nginx = await RawHttp.SendAsync(_fixture.NginxPort, request, isHead);
        var portico = await RawHttp.SendAsync(_fixture.PorticoPort, request, isHead);

        Assert.Equal(nginx.StatusLine, portico.StatusLine);
        foreach (var name in s_comparedHeaders)
        {
            var expected = Normalize(nginx.Header(name), _fixture.NginxPort);
            var actual = Normalize(portico.Header(name), _fixture.PorticoPort);
            if (name == "Content-Type" && expected is not null && expected.StartsWith("multipart/byteranges", StringComparison.Ordinal))
            {
                expected = Boundary().Replace(expected, "boundary=B");
                actual = actual is null ? null : Boundary().Replace(actual, "boundary=B");
            }

            if (name == "Content-Length" && nginx.Header("Content-Type")?.StartsWith("multipart/byteranges", StringComparison.Ordinal) == true)
            {
                continue;
            }

            if (name == "Content-Length" && expected is not null && nginx.BodyText.Contains("nginx/1.22.1", StringComparison.Ordinal))
            {
                // Built-in pages sign with the server's name: "portico/0.1.0" is one byte longer.
                expected = (int.Parse(expected, System.Globalization.CultureInfo.InvariantCulture) + ("portico/0.1.0".Length - "nginx/1.22.1".Length)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            }

            Assert.True(expected == actual, $"{name}: nginx <{expected}> portico <{actual}>\n--- nginx\n{nginx}\n--- portico\n{portico}");
        }

        var nginxBody = NormalizeBody(nginx.BodyText, _fixture.NginxPort, nginx.Header("Content-Type"));
        var porticoBody = NormalizeBody(portico.BodyText, _fixture.PorticoPort, portico.Header("Content-Type"));
        Assert.Equal(nginxBody, porticoBody);
    }

    private static string? Normalize(string? value, int port) =>
        value?.Replace(":" + port, ":PORT", StringComparison.Ordinal);

    private static string NormalizeBody(string body, int port, string? contentType)
    {
        body = body.Replace("nginx/1.22.1", "SERVER", StringComparison.Ordinal)
                   .Replace("portico/0.1.0", "SERVER", StringComparison.Ordinal)
                   .Replace(":" + port, ":PORT", StringComparison.Ordinal);
        if (contentType?.StartsWith("multipart/byteranges", StringComparison.Ordinal) == true)
        {
            var boundary = contentType[(contentType.IndexOf("boundary=", StringComparison.Ordinal) + 9)..];
            body = body.Replace(boundary, "BOUNDARY", StringComparison.Ordinal);
        }

        return body;
    }

    [GeneratedRegex("boundary=[0-9A-Za-z]+")]
    private static partial Regex Boundary();
}
