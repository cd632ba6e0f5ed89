using Portico.Config;
using Portico.Config.Model;
using Portico.Server.Static;

namespace Portico.Server.Tests.Static;

public class HttpDateAndMimeTests
{
    [Theory]
    [InlineData("Tue, 24 Nov 2026 10:00:00 GMT")]
    [InlineData("Tuesday, 24-Nov-26 10:00:00 GMT")]
    [InlineData("Tue Nov 24 10:00:00 2026")]
    [InlineData("Xyz, 24 Nov 2026 10:00:00 UTC")]
    public void Http_date_formats_nginx_accepts(string value)
    {
        Assert.Equal(DateTimeOffset.Parse("2026-11-24T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture).ToUnixTimeSeconds(), HttpDate.Parse(value));
    }

    [Theory]
    [InlineData("")]
    [InlineData("yesterday")]
    [InlineData("Tue, 24 Nov 2026 24:00:00 GMT")]
    [InlineData("Tue, 31 Nov 2026 10:00:00 GMT")]
    [InlineData("Sun, 29 Feb 2026 10:00:00 GMT")]
    [InlineData("Tue, 24 Qux 2026 10:00:00 GMT")]
    public void Invalid_http_dates(string value) => Assert.Equal(HttpDate.Invalid, HttpDate.Parse(value));

    [Fact]
    public void Http_date_is_imf_fixdate() =>
        Assert.Equal("Fri, 20 Nov 2026 10:00:05 GMT", HttpDate.Format(0x6b001a25));

    [Fact]
    public void Etag_is_hex_mtime_dash_hex_size()
    {
        var lookup = new FileLookup("/x", FileKind.File, 26, 0, 0x6b001a25, null);
        Assert.Equal("\"6b001a25-1a\"", lookup.ETag);
        Assert.Equal("Fri, 20 Nov 2026 10:00:05 GMT", lookup.LastModifiedHeader);
    }

    private static readonly MimeTypes s_types = new(
        new Dictionary<string, string> { ["html"] = "text/html", ["gz"] = "application/gzip", ["txt"] = "text/plain" },
        "application/octet-stream");

    [Theory]
    [InlineData("/index.html", "text/html")]
    [InlineData("/INDEX.HTML", "text/html")]
    [InlineData("/a.tar.gz", "application/gzip")]
    [InlineData("/README", "application/octet-stream")]
    [InlineData("/.txt", "application/octet-stream")]
    [InlineData("/dir/.txt", "application/octet-stream")]
    [InlineData("/dir.txt/file", "application/octet-stream")]
    [InlineData("/file.", "application/octet-stream")]
    [InlineData("/file.unknown", "application/octet-stream")]
    [InlineData("/x.txt", "text/plain")]
    public void Mime_type_from_last_extension_of_last_segment(string uri, string expected) =>
        Assert.Equal(expected, s_types.Resolve(uri));

    [Fact]
    public void Mime_map_is_built_once_per_settings()
    {
        var settings = new LocationSettings { Root = new ConfigValue("/srv", new SourceLocation("t", 1)), DefaultType = "text/x" };
        Assert.Same(MimeTypes.For(settings), MimeTypes.For(settings));
        Assert.Equal("text/x", MimeTypes.For(settings).Resolve("/a.b"));
    }
}
