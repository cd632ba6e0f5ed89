using Portico.Server.Compression;

namespace Portico.Server.Tests.Compression;

/// <summary>Accept-Encoding as nginx reads it for gzip (ngx_http_gzip_accept_encoding, ngx_http_gzip_quantity).</summary>
public class AcceptEncodingTests
{
    [Theory]
    [InlineData("gzip")]
    [InlineData("gzip, deflate, br")]
    [InlineData("deflate, gzip")]
    [InlineData("br,GZIP")]
    [InlineData("gzip;q=1")]
    [InlineData("gzip; q=0.5")]
    [InlineData("deflate, gzip;q=0.001")]
    [InlineData("gzip;q=1.000")]
    [InlineData("gzip ,deflate")]
    [InlineData("gzip;")]
    [InlineData("x-gzip, gzip")]
    public void Allows(string value) => Assert.True(AcceptEncoding.AllowsGzip(value), value);

    [Theory]
    [InlineData("")]
    [InlineData("gzi")]
    [InlineData("deflate")]
    [InlineData("x-gzip")]
    [InlineData("*")]
    [InlineData("gzipped")]
    [InlineData("gzip;q=0")]
    [InlineData("gzip; q=0.000")]
    [InlineData("gzip;q=1.5")]
    [InlineData("gzip;q=0.0001")]
    [InlineData("gzip;q=abc")]
    [InlineData("gzip;level=1")]
    [InlineData("gzip;q")]
    public void Refuses(string value) => Assert.False(AcceptEncoding.AllowsGzip(value), value);

    [Theory]
    [InlineData("1", 1000)]
    [InlineData("0", 0)]
    [InlineData("0.5", 500)]
    [InlineData("0.25", 250)]
    [InlineData("0.125", 125)]
    [InlineData("1.0", 1000)]
    [InlineData("1.001", 0)]
    [InlineData("2", 0)]
    [InlineData("0.5, br", 500)]
    public void Quality_in_thousandths(string value, int expected) => Assert.Equal(expected, AcceptEncoding.QValue(value));
}
