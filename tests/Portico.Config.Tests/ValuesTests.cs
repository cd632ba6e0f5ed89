using Portico.Config.Directives;

namespace Portico.Config.Tests;

public sealed class ValuesTests
{
    [Theory]
    [InlineData("0", 0L)]
    [InlineData("512", 512L)]
    [InlineData("1k", 1024L)]
    [InlineData("8M", 8L * 1024 * 1024)]
    [InlineData("1g", 1024L * 1024 * 1024)]
    public void Sizes_parse_with_suffixes(string text, long expected) => Assert.Equal(expected, Values.Size(text));

    [Theory]
    [InlineData("")]
    [InlineData("k")]
    [InlineData("1x")]
    [InlineData("-1")]
    [InlineData("1.5m")]
    public void Invalid_sizes_are_rejected(string text) => Assert.Null(Values.Size(text));

    [Theory]
    [InlineData("10", 10_000L)]
    [InlineData("10s", 10_000L)]
    [InlineData("1m", 60_000L)]
    [InlineData("1h30m", 5_400_000L)]
    [InlineData("1h 30m", 5_400_000L)]
    [InlineData("500ms", 500L)]
    [InlineData("1d", 86_400_000L)]
    [InlineData("1w", 604_800_000L)]
    public void Times_parse_as_nginx(string text, long ms) => Assert.Equal(TimeSpan.FromMilliseconds(ms), Values.Time(text, seconds: false));

    [Theory]
    [InlineData("1x")]
    [InlineData("30m1h")]
    [InlineData("1s1s")]
    [InlineData("s")]
    [InlineData("")]
    public void Invalid_times_are_rejected(string text) => Assert.Null(Values.Time(text, seconds: false));

    [Fact]
    public void Milliseconds_are_rejected_where_nginx_wants_seconds() => Assert.Null(Values.Time("500ms", seconds: true));
}
