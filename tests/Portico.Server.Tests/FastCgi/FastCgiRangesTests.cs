using System.Text;
using Portico.Server.FastCgi;

namespace Portico.Server.Tests.FastCgi;

/// <summary>The window a fastcgi_force_ranges part cuts out of a body that arrives in chunks of any size.</summary>
public sealed class FastCgiRangesTests
{
    private const string Body = "abcdefghijklmnopqrstuvwxyz";

    [Theory]
    [InlineData(0, 26, 1)]
    [InlineData(0, 5, 3)]
    [InlineData(5, 8, 1)]
    [InlineData(5, 8, 4)]
    [InlineData(9, 1, 10)]
    [InlineData(20, 6, 7)]
    [InlineData(25, 1, 26)]
    public void A_window_over_chunks_gives_the_range_and_nothing_else(int start, int length, int chunkSize)
    {
        long skip = start, take = length;
        var output = new StringBuilder();
        var bytes = Encoding.ASCII.GetBytes(Body);
        for (var at = 0; at < bytes.Length; at += chunkSize)
        {
            var chunk = bytes.AsSpan(at, Math.Min(chunkSize, bytes.Length - at));
            output.Append(Encoding.ASCII.GetString(FastCgiRanges.Window(chunk, ref skip, ref take)));
        }

        Assert.Equal(Body.Substring(start, length), output.ToString());
        Assert.Equal((0, 0), (skip, take));
    }

    [Fact]
    public void Without_a_range_every_chunk_passes_whole()
    {
        long skip = 0, take = long.MaxValue;
        Assert.Equal("abc", Encoding.ASCII.GetString(FastCgiRanges.Window("abc"u8, ref skip, ref take)));
        Assert.Equal("de", Encoding.ASCII.GetString(FastCgiRanges.Window("de"u8, ref skip, ref take)));
    }
}
