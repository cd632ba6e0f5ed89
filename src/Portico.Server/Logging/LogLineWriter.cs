using System.Buffers;
using System.Buffers.Text;
using System.Text;

namespace Portico.Server.Logging;

/// <summary>
/// Builds one log line as UTF-8: in the caller's stack buffer, then in a pooled array when it outgrows it. Text
/// appended as a string has its control characters but the tab written as <c>\xHH</c>: an entry is one line for
/// every line-based reader (a message with a newline, an exception text, would split it; nginx never emits them).
/// </summary>
internal ref struct LogLineWriter
{
    // C0 controls but the tab.
    private static readonly SearchValues<char> s_controls = SearchValues.Create(
        "\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\u0008\u000A\u000B\u000C\u000D\u000E\u000F" +
        "\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001A\u001B\u001C\u001D\u001E\u001F");

    private Span<byte> _buffer;
    private byte[]? _rented;
    private int _length;

    public LogLineWriter(Span<byte> initial)
    {
        _buffer = initial;
        _rented = null;
        _length = 0;
    }

    public readonly int Length => _length;

    public void Append(ReadOnlySpan<byte> utf8)
    {
        Ensure(utf8.Length);
        utf8.CopyTo(_buffer[_length..]);
        _length += utf8.Length;
    }

    public void Append(byte ascii)
    {
        Ensure(1);
        _buffer[_length++] = ascii;
    }

    public void Append(long number)
    {
        Ensure(20);
        Utf8Formatter.TryFormat(number, _buffer[_length..], out var written);
        _length += written;
    }

    /// <summary>Appends <paramref name="text"/> as UTF-8, its control characters escaped.</summary>
    public void Append(string text)
    {
        var chars = text.AsSpan();
        while (!chars.IsEmpty)
        {
            var control = chars.IndexOfAny(s_controls);
            var plain = control < 0 ? chars : chars[..control];
            Ensure(Encoding.UTF8.GetMaxByteCount(plain.Length));
            _length += Encoding.UTF8.GetBytes(plain, _buffer[_length..]);
            if (control < 0)
            {
                return;
            }

            Ensure(4);
            _buffer[_length++] = (byte)'\\';
            _buffer[_length++] = (byte)'x';
            Utf8Formatter.TryFormat((byte)chars[control], _buffer[_length..], out var hex, new StandardFormat('X', 2));
            _length += hex;
            chars = chars[(control + 1)..];
        }
    }

    public readonly byte[] ToArray() => _buffer[.._length].ToArray();

    public void Dispose()
    {
        if (_rented is { } rented)
        {
            _rented = null;
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private void Ensure(int more)
    {
        if (_length + more <= _buffer.Length)
        {
            return;
        }

        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _length + more));
        _buffer[.._length].CopyTo(bigger);
        Dispose();
        _rented = bigger;
        _buffer = bigger;
    }
}
