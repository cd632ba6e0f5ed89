using System.Buffers;
using System.Text;
using Portico.FastCgi.Protocol;

namespace Portico.FastCgi.Client;

/// <summary>
/// CGI params written once, straight into FastCGI name-value form (spec section 3.4), in one pooled buffer.
/// This is what a server builds per request: no pair objects, no list, no second encoding pass when the
/// PARAMS records are framed. Values can be formatted in place (<see cref="BeginValue"/>), so a number or
/// an address never becomes a string. Dispose returns the buffer; the block must outlive every send of it
/// (a retry on another server sends it again).
/// </summary>
public sealed class FastCgiParamBlock : IDisposable
{
    // Room for the two length fields, each at most four bytes (spec section 3.4).
    private const int MaxLengthFields = 8;

    private byte[] _buffer;
    private int _length;
    private int _pending = -1;
    private int _pendingNameLength;

    public FastCgiParamBlock(int initialCapacity = 2048) => _buffer = ArrayPool<byte>.Shared.Rent(initialCapacity);

    /// <summary>The encoded pairs, back to back.</summary>
    public ReadOnlyMemory<byte> Encoded => _buffer.AsMemory(0, _length);

    /// <summary>Pairs written.</summary>
    public int Count { get; private set; }

    /// <summary>The encoded size of the largest pair: one pair must fit one PARAMS record (65535 bytes).</summary>
    public int LargestPair { get; private set; }

    public void Add(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value) => value.CopyTo(Append(name, value.Length));

    /// <summary>Adds a pair whose value is <paramref name="value"/> as UTF-8 (ASCII, the usual case, is narrowed in one pass).</summary>
    public void Add(ReadOnlySpan<byte> name, string value)
    {
        if (Ascii.IsValid(value))
        {
            Ascii.FromUtf16(value, Append(name, value.Length), out _);
            return;
        }

        Encoding.UTF8.GetBytes(value, Append(name, Encoding.UTF8.GetByteCount(value)));
    }

    /// <summary>
    /// Starts a pair: writes the name and returns room for at least <paramref name="maxValueLength"/> value bytes
    /// (possibly more). Write the value there, then call <see cref="EndValue"/> with its length, or
    /// <see cref="CancelValue"/> to drop the pair.
    /// </summary>
    public Span<byte> BeginValue(ReadOnlySpan<byte> name, int maxValueLength)
    {
        ObjectDisposedException.ThrowIf(_buffer.Length == 0, this);
        ArgumentOutOfRangeException.ThrowIfNegative(maxValueLength);

        // The name's length field is known; the value's is taken to be one byte (values are short) and
        // EndValue moves the pair three bytes right in the rare case it needs four. Hence the room for 8.
        Ensure(MaxLengthFields + name.Length + maxValueLength);
        var nameField = NameValueCodec.LengthOfLength(name.Length);
        _pending = _length;
        _pendingNameLength = name.Length;
        name.CopyTo(_buffer.AsSpan(_length + nameField + 1));
        return _buffer.AsSpan(_length + nameField + 1 + name.Length, _buffer.Length - _length - MaxLengthFields - name.Length);
    }

    /// <summary>Ends the pair begun by <see cref="BeginValue"/>; its value is the first <paramref name="valueLength"/> bytes of the room.</summary>
    public void EndValue(int valueLength)
    {
        var start = _pending;
        if (start < 0)
        {
            throw new InvalidOperationException("No pair was begun.");
        }

        var nameLength = _pendingNameLength;
        ArgumentOutOfRangeException.ThrowIfNegative(valueLength);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(valueLength, _buffer.Length - start - MaxLengthFields - nameLength);
        _pending = -1;

        var nameField = NameValueCodec.LengthOfLength(nameLength);
        var valueField = NameValueCodec.LengthOfLength(valueLength);
        var body = nameLength + valueLength;
        if (valueField > 1)
        {
            _buffer.AsSpan(start + nameField + 1, body).CopyTo(_buffer.AsSpan(start + nameField + valueField));
        }

        var span = _buffer.AsSpan(start);
        NameValueCodec.WriteLength(nameLength, span);
        NameValueCodec.WriteLength(valueLength, span[nameField..]);
        var pair = nameField + valueField + body;
        _length = start + pair;
        Count++;
        if (pair > LargestPair)
        {
            LargestPair = pair;
        }
    }

    /// <summary>Drops the pair begun by <see cref="BeginValue"/> (e.g. fastcgi_param ... if_not_empty with an empty value).</summary>
    public void CancelValue() => _pending = -1;

    public void Dispose()
    {
        var buffer = _buffer;
        _buffer = [];
        _length = 0;
        if (buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Writes both length fields and the name of a pair whose value length is known; returns the value's room.</summary>
    private Span<byte> Append(ReadOnlySpan<byte> name, int valueLength)
    {
        ObjectDisposedException.ThrowIf(_buffer.Length == 0, this);
        var fields = NameValueCodec.LengthOfLength(name.Length) + NameValueCodec.LengthOfLength(valueLength);
        var pair = fields + name.Length + valueLength;
        Ensure(pair);
        var span = _buffer.AsSpan(_length, pair);
        var offset = NameValueCodec.WriteLength(name.Length, span);
        NameValueCodec.WriteLength(valueLength, span[offset..]);
        name.CopyTo(span[fields..]);
        _length += pair;
        _pending = -1;
        Count++;
        if (pair > LargestPair)
        {
            LargestPair = pair;
        }

        return span[(fields + name.Length)..];
    }

    private void Ensure(int size)
    {
        if (_buffer.Length - _length >= size)
        {
            return;
        }

        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(_buffer.Length * 2, _length + size));
        _buffer.AsSpan(0, _length).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = bigger;
    }
}
