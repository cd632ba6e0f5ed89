using static Portico.Server.Tests.Routing.RoutingTestSupport;

namespace Portico.Server.Tests.Routing;

public sealed class LocationTreeTests
{
    private const string Config = """
        http { server { listen 8080;
            location = / { }
            location / { }
            location /documents/ { }
            location /documents/deep/ { }
            location ^~ /images/ { location ~ \.svg$ { } }
            location ~* \.(gif|jpg|jpeg)$ { }
            location ~ \.(gif|png)$ { }
            location /outer/ {
                location /outer/inner/ { }
                location ~ \.php$ { }
            }
            location ~ ^/regex-parent/ { location ~ child$ { } }
            location @named { }
        } }
        """;

    [Theory]
    [InlineData("/", "=", "/")]
    [InlineData("/index.html", "", "/")]
    [InlineData("/documents/a.html", "", "/documents/")]
    [InlineData("/documents/deep/a.html", "", "/documents/deep/")]
    [InlineData("/documents/a.jpg", "~*", "\\.(gif|jpg|jpeg)$")]
    [InlineData("/documents/a.GIF", "~*", "\\.(gif|jpg|jpeg)$")]
    [InlineData("/documents/a.gif", "~*", "\\.(gif|jpg|jpeg)$")]
    [InlineData("/a.png", "~", "\\.(gif|png)$")]
    [InlineData("/a.PNG", "", "/")]
    [InlineData("/images/a.jpg", "^~", "/images/")]
    [InlineData("/images/a.svg", "~", "\\.svg$")]
    [InlineData("/outer/x", "", "/outer/")]
    [InlineData("/outer/inner/x", "", "/outer/inner/")]
    [InlineData("/outer/inner/x.php", "~", "\\.php$")]
    [InlineData("/outer/x.jpg", "~*", "\\.(gif|jpg|jpeg)$")]
    [InlineData("/regex-parent/child", "~", "child$")]
    [InlineData("/regex-parent/other", "~", "^/regex-parent/")]
    [InlineData("/@named", "", "/")]
    public void Finds_location_in_nginx_order(string uri, string modifier, string pattern)
    {
        var server = Servers(Config)[0];
        var found = server.Locations.Find(uri).Location;
        Assert.NotNull(found);
        Assert.Equal(pattern, found.Config.Pattern);
        var expected = modifier switch
        {
            "=" => Portico.Config.Model.LocationMatch.Exact,
            "^~" => Portico.Config.Model.LocationMatch.PrefixNoRegex,
            "~" => Portico.Config.Model.LocationMatch.Regex,
            "~*" => Portico.Config.Model.LocationMatch.RegexCaseInsensitive,
            _ => Portico.Config.Model.LocationMatch.Prefix,
        };
        Assert.Equal(expected, found.Config.Match);
    }

    [Fact]
    public void No_location_matches_without_a_root_prefix()
    {
        var server = Servers("http { server { listen 8080; location /only/ { } } }")[0];
        Assert.Null(server.Locations.Find("/other").Location);
        Assert.NotNull(server.Locations.Find("/only/x").Location);
    }

    [Fact]
    public void Regex_captures_follow_pcre_numbering()
    {
        var server = Servers("http { server { listen 8080; location ~ ^/(?<a>[a-z]+)/(\\d+)$ { } } }")[0];
        var result = server.Locations.Find("/abc/42");
        Assert.NotNull(result.Match);
        Assert.Equal("abc", result.Match.Groups[1].Value);
        Assert.Equal("42", result.Match.Groups[2].Value);
        Assert.Equal("a", result.GroupNames![1]);
        Assert.Null(result.GroupNames[2]);
    }

    [Fact]
    public void Named_locations_are_kept_apart()
    {
        var server = Servers(Config)[0];
        Assert.True(server.Named.ContainsKey("@named"));
    }
}
