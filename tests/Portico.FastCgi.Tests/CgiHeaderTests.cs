using System.Text;
using Portico.FastCgi.Response;

namespace Portico.FastCgi.Tests;

public sealed class CgiHeaderTests
{
    [Theory]
    [InlineData("A: 1\n\nbody", 5)]
    [InlineData("A: 1\r\n\r\nbody", 6)]
    [InlineData("A: 1\r\nB: 2\n\r\nbody", 11)]
    [InlineData("\r\nbody", 0)]
    public void Header_block_ends_at_the_first_blank_line_with_lf_or_crlf(string text, int headerLength)
    {
        var bytes = Encoding.ASCII.GetBytes(text);
        var block = new CgiHeaderBlock();
        var found = -1;

        // Feed growing prefixes, as records arrive, to pin the incremental scan.
        for (var i = 1; i <= bytes.Length && found < 0; i++)
        {
            if (block.Scan(bytes.AsSpan(0, i)))
            {
                found = i;
            }
        }

        Assert.True(block.IsComplete);
        Assert.Equal(headerLength, block.HeaderLength);
        Assert.Equal("body", text[block.BodyStart..]);
    }

    [Fact]
    public void Header_block_without_blank_line_is_not_complete()
    {
        var block = new CgiHeaderBlock();
        Assert.False(block.Scan("A: 1\r\nB: 2\r\n"u8));
    }

    [Fact]
    public void Status_header_sets_code_and_reason_and_is_removed()
    {
        var head = CgiResponseHead.Parse("Status: 404 Not Found\r\nContent-Type: text/html\r\n"u8);
        Assert.Equal(404, head.StatusCode);
        Assert.Equal("Not Found", head.ReasonPhrase);
        Assert.Equal([new("Content-Type", "text/html")], head.Headers);
    }

    [Fact]
    public void Location_without_status_means_302_as_nginx()
    {
        Assert.Equal(302, CgiResponseHead.Parse("Location: /elsewhere\n"u8).StatusCode);
        Assert.Equal(301, CgiResponseHead.Parse("Location: /x\nStatus: 301\n"u8).StatusCode);
        Assert.Equal(200, CgiResponseHead.Parse("X-Powered-By: PHP\n"u8).StatusCode);
    }

    [Fact]
    public void Repeated_headers_are_kept_in_order_and_values_trimmed()
    {
        var head = CgiResponseHead.Parse("Set-Cookie: a=1\nSet-Cookie:b=2   \n"u8);
        Assert.Equal([new("Set-Cookie", "a=1"), new("Set-Cookie", "b=2")], head.Headers);
    }

    [Theory]
    [InlineData("no colon here\n")]
    [InlineData(": empty name\n")]
    [InlineData("Bad Name: x\n")]
    [InlineData(" folded: x\n")]
    [InlineData("Status: abc\n")]
    [InlineData("Status: 4040\n")]
    [InlineData("Status: 099 x\n")]
    public void Malformed_header_lines_are_invalid_response_header(string block)
    {
        var ex = Assert.Throws<FastCgiException>(() => CgiResponseHead.Parse(Encoding.ASCII.GetBytes(block)));
        Assert.Equal(FastCgiErrorKind.InvalidResponseHeader, ex.Kind);
    }
}
