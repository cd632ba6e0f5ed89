using Portico.Server.Compression;

namespace Portico.Server.Tests.Compression;

/// <summary>The parts of ngx_http_gzip_ok that read the request alone: msie6 and the type lookup of gzip_types.</summary>
public class GzipCheckTests
{
    [Theory]
    [InlineData("Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)", true)]
    [InlineData("Mozilla/4.0 (compatible; MSIE 5.5; Windows 98)", true)]
    [InlineData("Mozilla/4.0 (compatible; MSIE 4.01; Windows 95)", true)]
    [InlineData("Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)", false)]
    [InlineData("Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.0)", false)]
    [InlineData("Opera/9.0 (compatible; MSIE 6.0; Windows NT 5.1)", false)]
    [InlineData("Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0", false)]
    [InlineData("MSIE 6.", false)]
    public void Msie6_is_nginx_s(string userAgent, bool expected) => Assert.Equal(expected, GzipCheck.IsMsie6(userAgent));

    [Theory]
    [InlineData("text/html", true)]
    [InlineData("TEXT/HTML", true)]
    [InlineData("text/html; charset=UTF-8", true)]
    [InlineData("text/css;charset=utf-8", true)]
    [InlineData("text/css", true)]
    [InlineData("text/css; level=1", false)]
    [InlineData("application/javascript", false)]
    [InlineData("", false)]
    public void Types_are_looked_up_without_the_charset(string contentType, bool expected) =>
        Assert.Equal(expected, GzipFilter.TypeMatches(["text/css"], contentType));

    [Fact]
    public void Star_takes_any_type_and_none() =>
        Assert.True(GzipFilter.TypeMatches(null, "") && GzipFilter.TypeMatches(null, "image/png"));
}
