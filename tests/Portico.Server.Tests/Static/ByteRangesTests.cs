using Portico.Server.Static;

namespace Portico.Server.Tests.Static;

public class ByteRangesTests
{
    [Fact]
    public void Single_range_is_inclusive_of_last_byte()
    {
        Assert.Equal(RangeOutcome.Partial, ByteRanges.Parse("bytes=0-4", 26, out ByteRange first, out List<ByteRange>? all));
        Assert.Equal(new ByteRange(0, 5), first);
        Assert.Null(all);
    }

    [Fact]
    public void Suffix_range_takes_the_last_bytes()
    {
        Assert.Equal(RangeOutcome.Partial, ByteRanges.Parse("bytes=-3", 26, out ByteRange first, out _));
        Assert.Equal(new ByteRange(23, 26), first);
    }

    [Fact]
    public void Suffix_longer_than_file_covers_whole_file()
    {
        ByteRanges.Parse("bytes=-100", 26, out ByteRange first, out _);
        Assert.Equal(new ByteRange(0, 26), first);
    }

    [Fact]
    public void Open_range_runs_to_end()
    {
        ByteRanges.Parse("bytes=20-", 26, out ByteRange first, out _);
        Assert.Equal(new ByteRange(20, 26), first);
    }

    [Fact]
    public void Last_byte_beyond_length_is_clamped()
    {
        ByteRanges.Parse("bytes=20-1000", 26, out ByteRange first, out _);
        Assert.Equal(new ByteRange(20, 26), first);
    }

    [Fact]
    public void Range_with_two_parts_returns_both_in_request_order()
    {
        Assert.Equal(RangeOutcome.Partial, ByteRanges.Parse("bytes=5-6, 0-0", 26, out _, out List<ByteRange>? all));
        Assert.Equal([new ByteRange(5, 7), new ByteRange(0, 1)], all);
    }

    [Fact]
    public void Overlapping_ranges_are_not_coalesced()
    {
        ByteRanges.Parse("bytes=0-5,3-8", 26, out _, out List<ByteRange>? all);
        Assert.Equal([new ByteRange(0, 6), new ByteRange(3, 9)], all);
    }

    [Fact]
    public void Ranges_larger_in_total_than_the_file_are_declined()
    {
        Assert.Equal(RangeOutcome.Full, ByteRanges.Parse("bytes=0-20,3-15", 26, out _, out _));
    }

    [Theory]
    [InlineData("bytes=abc")]
    [InlineData("bytes=-0")]
    [InlineData("bytes=30-")]
    [InlineData("bytes=5-1")]
    [InlineData("bytes=0-1x")]
    [InlineData("bytes=0-1,")]
    [InlineData("bytes=99999999999999999999-")]
    public void Bad_or_unsatisfiable_ranges_are_416_like_nginx(string header)
    {
        Assert.Equal(RangeOutcome.NotSatisfiable, ByteRanges.Parse(header, 26, out _, out _));
    }

    [Theory]
    [InlineData("items=0-1")]
    [InlineData("bytes=")]
    [InlineData("byte=0-1")]
    public void Non_byte_ranges_are_ignored(string header)
    {
        Assert.Equal(RangeOutcome.Full, ByteRanges.Parse(header, 26, out _, out _));
    }

    [Fact]
    public void Unit_is_case_insensitive_and_spaces_are_allowed()
    {
        Assert.Equal(RangeOutcome.Partial, ByteRanges.Parse("BYTES= 1 - 2 ", 26, out ByteRange first, out _));
        Assert.Equal(new ByteRange(1, 3), first);
    }

    [Theory]
    [InlineData("bytes=0-")]
    [InlineData("bytes=-5")]
    public void Empty_file_declines_ranges(string header)
    {
        Assert.Equal(RangeOutcome.Full, ByteRanges.Parse(header, 0, out _, out _));
    }

    [Fact]
    public void Unsatisfiable_part_is_dropped_when_another_part_fits()
    {
        Assert.Equal(RangeOutcome.Partial, ByteRanges.Parse("bytes=30-40,1-1", 26, out ByteRange first, out List<ByteRange>? all));
        Assert.Equal(new ByteRange(1, 2), first);
        Assert.Null(all);
    }

    [Fact]
    public void Max_ranges_exceeded_declines()
    {
        Assert.Equal(RangeOutcome.Full, ByteRanges.Parse("bytes=0-0,2-2", 26, out _, out _, maxRanges: 1));
    }
}
