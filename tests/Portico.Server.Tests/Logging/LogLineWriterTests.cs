using System.Text;
using Portico.Server.Logging;

namespace Portico.Server.Tests.Logging;

/// <summary>One error-log line as UTF-8: control characters escaped as \xHH (the tab kept), text past the stack buffer
/// carried into a pooled one.</summary>
public sealed class LogLineWriterTests
{
    [Theory]
    [InlineData("plain", "plain")]
    [InlineData("multi\nline", "multi\\x0Aline")]
    [InlineData("\r\n", "\\x0D\\x0A")]
    [InlineData("tab\tkept", "tab\tkept")]
    [InlineData("\u0001é\u001F", "\\x01é\\x1F")]
    [InlineData("", "")]
    public void Text_is_utf8_with_its_controls_escaped(string text, string expected)
    {
        Assert.Equal(expected, Write(text, 64));
    }

    [Fact]
    public void A_line_longer_than_the_first_buffer_keeps_every_byte()
    {
        var text = string.Concat(Enumerable.Repeat("é\nx", 400)); // 2,000 bytes escaped, from a 16-byte buffer
        Assert.Equal(string.Concat(Enumerable.Repeat("é\\x0Ax", 400)), Write(text, 16));
    }

    [Fact]
    public void Numbers_and_bytes_are_written_as_they_are()
    {
        var line = new LogLineWriter(stackalloc byte[4]);
        try
        {
            line.Append(1234567890123L);
            line.Append((byte)'#');
            line.Append("ok"u8);
            Assert.Equal("1234567890123#ok", Encoding.UTF8.GetString(line.ToArray()));
        }
        finally
        {
            line.Dispose();
        }
    }

    private static string Write(string text, int initial)
    {
        var line = new LogLineWriter(new byte[initial]);
        try
        {
            line.Append(text);
            return Encoding.UTF8.GetString(line.ToArray());
        }
        finally
        {
            line.Dispose();
        }
    }
}
