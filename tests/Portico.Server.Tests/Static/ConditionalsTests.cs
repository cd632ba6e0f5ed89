using Portico.Config.Model;
using Portico.Server.Static;

namespace Portico.Server.Tests.Static;

public class ConditionalsTests
{
    private const string Tag = "\"6b001a25-1a\"";
    private const long Mtime = 0x6b001a25;
    private const string Date = "Fri, 20 Nov 2026 10:00:05 GMT";
    private const string Earlier = "Fri, 20 Nov 2026 10:00:04 GMT";
    private const string Later = "Fri, 20 Nov 2026 10:00:06 GMT";

    private static int Eval(string? ifMatch = null, string? ifNoneMatch = null, string? ims = null, string? ius = null,
        string? etag = Tag, IfModifiedSinceMode mode = IfModifiedSinceMode.Exact) =>
        Conditionals.Evaluate(ifMatch, ifNoneMatch, ims, ius, etag, Mtime, mode);

    [Fact]
    public void Date_helper_matches_the_test_mtime() => Assert.Equal(Mtime, HttpDate.Parse(Date));

    [Fact]
    public void No_conditionals_proceed() => Assert.Equal(200, Eval());

    [Theory]
    [InlineData(Tag)]
    [InlineData("W/" + Tag)]
    [InlineData("\"x\", " + Tag)]
    [InlineData("\"x\" ,W/" + Tag + " , \"y\"")]
    [InlineData("*")]
    public void If_none_match_hit_is_304(string header) => Assert.Equal(304, Eval(ifNoneMatch: header));

    [Theory]
    [InlineData("\"x\"")]
    [InlineData("\"6b001a25-1a")]
    [InlineData("\"6b001a25-1a\"x")]
    public void If_none_match_miss_is_200(string header) => Assert.Equal(200, Eval(ifNoneMatch: header));

    [Fact]
    public void If_match_uses_strong_comparison() => Assert.Equal(412, Eval(ifMatch: "W/" + Tag));

    [Fact]
    public void If_match_hit_proceeds() => Assert.Equal(200, Eval(ifMatch: Tag));

    [Fact]
    public void If_match_star_passes_even_with_etag_off() => Assert.Equal(200, Eval(ifMatch: "*", etag: null));

    [Fact]
    public void If_match_fails_with_etag_off() => Assert.Equal(412, Eval(ifMatch: Tag, etag: null));

    [Fact]
    public void If_none_match_never_hits_with_etag_off() => Assert.Equal(200, Eval(ifNoneMatch: Tag, etag: null));

    [Theory]
    [InlineData(Date, 200)]
    [InlineData(Later, 200)]
    [InlineData(Earlier, 412)]
    [InlineData("garbage", 412)]
    public void If_unmodified_since(string header, int expected) => Assert.Equal(expected, Eval(ius: header));

    [Theory]
    [InlineData(IfModifiedSinceMode.Exact, Date, 304)]
    [InlineData(IfModifiedSinceMode.Exact, Later, 200)]
    [InlineData(IfModifiedSinceMode.Exact, Earlier, 200)]
    [InlineData(IfModifiedSinceMode.Before, Later, 304)]
    [InlineData(IfModifiedSinceMode.Before, Earlier, 200)]
    [InlineData(IfModifiedSinceMode.Off, Date, 200)]
    [InlineData(IfModifiedSinceMode.Exact, "garbage", 200)]
    public void If_modified_since_modes(IfModifiedSinceMode mode, string header, int expected) =>
        Assert.Equal(expected, Eval(ims: header, mode: mode));

    [Fact]
    public void Both_validators_must_agree_for_304_as_in_nginx() => Assert.Equal(200, Eval(ifNoneMatch: Tag, ims: Earlier));

    [Fact]
    public void If_range_etag_needs_exact_match()
    {
        Assert.True(Conditionals.IfRangeAllows(Tag, Tag, Mtime));
        Assert.False(Conditionals.IfRangeAllows("W/" + Tag, Tag, Mtime));
        Assert.False(Conditionals.IfRangeAllows(Tag, null, Mtime));
    }

    [Fact]
    public void If_range_date_needs_equal_seconds()
    {
        Assert.True(Conditionals.IfRangeAllows(Date, Tag, Mtime));
        Assert.False(Conditionals.IfRangeAllows(Later, Tag, Mtime));
    }
}
