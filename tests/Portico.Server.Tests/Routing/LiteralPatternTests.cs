using System.Text.RegularExpressions;
using Portico.Server.Routing;

namespace Portico.Server.Tests.Routing;

/// <summary>Literal-only location regexes run as string comparisons; they must answer exactly as the
/// regex engine does (checked side by side here), including PCRE's "$ before a final newline".</summary>
public sealed class LiteralPatternTests
{
    private static readonly string[] Inputs =
    [
        "/index.php", "/INDEX.PHP", "/index.php\n", "/index.php\n\n", "/index.phpx", "/a.php/b", "/api/", "/api/v1",
        "/API/v1", "/apix", "/exact", "/exact\n", "/exactly", "/x/exact", "/admin/panel", "/Admin", "php", "", "/a.b.c",
        "/a-b_c~d", "/a+b",
    ];

    [Theory]
    [InlineData(@"\.php$", false)]
    [InlineData(@"\.php$", true)]
    [InlineData("^/api/", false)]
    [InlineData("^/api/", true)]
    [InlineData("^/exact$", false)]
    [InlineData("admin", true)]
    [InlineData("/a-b_c~d", false)]
    [InlineData(@"/a\+b", false)]
    [InlineData(@"\.b\.c$", false)]
    public void Matches_exactly_as_the_regex_does(string pattern, bool ignoreCase)
    {
        var literal = LiteralPattern.TryCreate(pattern, ignoreCase);
        Assert.NotNull(literal);
        var options = RegexOptions.CultureInvariant | (ignoreCase ? RegexOptions.IgnoreCase : RegexOptions.None);
        var regex = new Regex(pattern, options);
        foreach (var input in Inputs)
        {
            var expected = regex.Match(input) is { Success: true } m ? m.Value : null;
            Assert.True(expected == literal.Match(input), $"{pattern} on {input.Replace("\n", "\\n", StringComparison.Ordinal)}: regex {expected ?? "no match"}, literal {literal.Match(input) ?? "no match"}");
        }
    }

    [Theory]
    [InlineData(@"\.(php|phtml)$")]
    [InlineData(@"^/user/\d+$")]
    [InlineData(@"\.php\b")]
    [InlineData("^/a.c$")]
    [InlineData("^/a*")]
    [InlineData("^$")]
    [InlineData("/caf\u00e9$")]
    [InlineData("[.]php$")]
    public void Any_regex_feature_keeps_the_regex(string pattern) =>
        Assert.Null(LiteralPattern.TryCreate(pattern, ignoreCase: false));

    [Fact]
    public void A_location_regex_of_literal_text_sets_the_whole_match_capture()
    {
        var regex = PcreRegex.Create(@"\.php$", ignoreCase: false);
        Assert.NotNull(regex.Literal);
        Assert.Equal(".php", regex.Literal!.Match("/x/index.php"));
        Assert.Null(PcreRegex.Create(@"(\.php)$", ignoreCase: false).Literal);
    }
}
