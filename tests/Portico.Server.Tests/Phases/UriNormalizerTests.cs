using Portico.Server.Phases;

namespace Portico.Server.Tests.Phases;

public sealed class UriNormalizerTests
{
    [Theory]
    [InlineData("/", "/")]
    [InlineData("/a/b", "/a/b")]
    [InlineData("/a//b", "/a/b")]
    [InlineData("//a///b//", "/a/b/")]
    [InlineData("/a/./b", "/a/b")]
    [InlineData("/a/.", "/a/")]
    [InlineData("/a/b/..", "/a/")]
    [InlineData("/a/b/../c", "/a/c")]
    [InlineData("/a/%2e%2e/c", "/c")]
    [InlineData("/a%2Fb", "/a/b")]
    [InlineData("/%41%42", "/AB")]
    [InlineData("/%25", "/%")]
    [InlineData("/caf%C3%A9", "/café")]
    [InlineData("/a/..", "/")]
    [InlineData("/..a/b..", "/..a/b..")]
    public void Normalizes_like_nginx(string raw, string expected)
    {
        Assert.True(UriNormalizer.TryNormalize(raw, mergeSlashes: true, out var uri));
        Assert.Equal(expected, uri);
    }

    [Theory]
    [InlineData("/..")]
    [InlineData("/../a")]
    [InlineData("/a/../..")]
    [InlineData("/%2e%2e/a")]
    [InlineData("/%zz")]
    [InlineData("/%4")]
    [InlineData("/a%00")]
    [InlineData("a")]
    [InlineData("")]
    public void Rejects_bad_uris(string raw) =>
        Assert.False(UriNormalizer.TryNormalize(raw, mergeSlashes: true, out _));

    [Fact]
    public void Merge_slashes_off_keeps_them()
    {
        Assert.True(UriNormalizer.TryNormalize("/a//b", mergeSlashes: false, out var uri));
        Assert.Equal("/a//b", uri);
    }

    [Theory]
    [InlineData("Example.COM", true, "example.com")]
    [InlineData("example.com:8080", true, "example.com")]
    [InlineData("example.com.", true, "example.com")]
    [InlineData("[::1]:80", true, "[::1]")]
    [InlineData("", true, "")]
    [InlineData("example.com", true, "example.com")]
    [InlineData(" example.com ", true, "example.com")]
    [InlineData("EXAMPLE.com:8080", true, "example.com")]
    [InlineData("Bücher.example", true, "bücher.example")]
    [InlineData("a/b", false, "")]
    [InlineData("a..b", false, "")]
    [InlineData("a:b", false, "")]
    public void Host_is_validated_and_normalized(string raw, bool valid, string expected)
    {
        Assert.Equal(valid, HostNormalizer.TryNormalize(raw, out var host));
        if (valid)
        {
            Assert.Equal(expected, host);
        }
    }

    [Fact]
    public void Host_already_normal_is_kept_without_a_copy()
    {
        var raw = "www.example.com";
        Assert.True(HostNormalizer.TryNormalize(raw, out var host));
        Assert.Same(raw, host);
    }
}
