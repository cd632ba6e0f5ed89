using Portico.Server.Phases;

namespace Portico.Server.Tests.Phases;

/// <summary>
/// The containment check takes a path as already normal only when it is "plain"; anything else goes through
/// Path.GetFullPath first. A path wrongly called plain would skip that normalisation, so the fast scan must
/// agree with the plain definition (no "//", no "/." and no NUL) everywhere.
/// </summary>
public sealed class PathMapperTests
{
    [Theory]
    [InlineData("/srv/www/index.php", true)]
    [InlineData("/", true)]
    [InlineData("", true)]
    [InlineData("/srv/www/", true)]
    [InlineData("/srv/www/a.b/c", true)]
    [InlineData("/srv//www", false)]
    [InlineData("//srv", false)]
    [InlineData("/srv/www//", false)]
    [InlineData("/srv/../etc/passwd", false)]
    [InlineData("/srv/./x", false)]
    [InlineData("/srv/www/.", false)]
    [InlineData("/srv/www/.hidden", false)]
    [InlineData("/.", false)]
    [InlineData("/srv/www\0/x", false)]
    [InlineData("\0", false)]
    [InlineData("relative/path", true)]
    public void Plain_paths_are_the_ones_without_double_slash_dot_segment_or_nul(string path, bool plain)
    {
        Assert.Equal(plain, PathMapper.IsPlain(path));
        Assert.Equal(Reference(path), PathMapper.IsPlain(path));
    }

    [Fact]
    public void Fast_scan_agrees_with_the_definition_on_every_short_path_of_the_risky_characters()
    {
        // Every string up to 6 characters over the alphabet that matters, at every position.
        char[] alphabet = ['/', '.', 'a', '\0'];
        var checkedCount = 0;
        for (var length = 0; length <= 6; length++)
        {
            var total = (int)Math.Pow(alphabet.Length, length);
            var chars = new char[length];
            for (var n = 0; n < total; n++)
            {
                var k = n;
                for (var i = 0; i < length; i++)
                {
                    chars[i] = alphabet[k % alphabet.Length];
                    k /= alphabet.Length;
                }

                var path = new string(chars);
                Assert.True(Reference(path) == PathMapper.IsPlain(path), $"disagreement on \"{path.Replace("\0", "\\0", StringComparison.Ordinal)}\"");
                checkedCount++;
            }
        }

        Assert.Equal(5461, checkedCount);
    }

    private static bool Reference(string path) =>
        !path.Contains("//", StringComparison.Ordinal) && !path.Contains("/.", StringComparison.Ordinal) && !path.Contains('\0', StringComparison.Ordinal);
}
