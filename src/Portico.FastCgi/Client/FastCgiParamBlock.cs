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
        var length = _length;
        var count = Count;
        var largest = LargestPair;
        if (Ascii.FromUtf16(value, Append(name, value.Length), out _) == OperationStatus.Done)
        {
            return;
        }

        // Not ASCII: the pair is written again, as UTF-8 (longer, so its length fields may differ).
        _length = length;
        Count = count;
        LargestPair = largest;
        Encoding.UTF8.GetBytes(value, Append(name, Encoding.UTF8.GetByteCount(value)));
    }

    /// <summary>
    /// Starts a pair: writes the name and returns room for at least <paramref name="maxValueLength"/> value bytes
    /// (possibly more). Write the value there, then call <see cref="EndValue"/> with its length, or
    /// <see cref="CancelValue"/> to drop the pair.
    /// </summary>
    public Span<byte> BeginValue(ReadOnlySpan<byte> name, int maxValueLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxValueLength);

        // The name's length field is known; the value's is taken to be one byte (values are short) and
        // EndValue moves the pair three bytes right in the rare case it needs four. Hence the room for 8.
        var room = MaxLengthFields + name.Length + maxValueLength;
        if (_buffer.Length - _length < room)
        {
            Grow(room);
        }

        var nameField = NameValueCodec.LengthOfLength(name.Length);
        _pending = _length;
        _pendingNameLength = name.Length;
        var span = _buffer.AsSpan(_length + nameField + 1);
        name.CopyTo(span);

        // The room stops short of the buffer's end by what the length fields may still need.
        return span.Slice(name.Length, span.Length - name.Length - (MaxLengthFields - nameField - 1));
    }

    /// <summary>Ends the pair begun by <see cref="BeginValue"/>; its value is the first <paramref name="valueLength"/> bytes of the room.</summary>
    public void EndValue(int valueLength)
    {
        var start = _pending;
        var nameLength = _pendingNameLength;
        if (start < 0 || (uint)valueLength > (uint)(_buffer.Length - start - MaxLengthFields - nameLength))
        {
            ThrowBadEnd(start, valueLength);
        }

        _pending = -1;
        int pair;
        if ((nameLength | valueLength) < 0x80)
        {
            // Both lengths fit one byte each (spec section 3.4), the usual case: the pair is already in place.
            _buffer[start] = (byte)nameLength;
            _buffer[start + 1] = (byte)valueLength;
            pair = 2 + nameLength + valueLength;
        }
        else
        {
            pair = PlaceLongPair(start, nameLength, valueLength);
        }

        _length = start + pair;
        Count++;
        if (pair > LargestPair)
        {
            LargestPair = pair;
        }
    }

    /// <summary>Drops the pair begun by <see cref="BeginValue"/> (e.g. fastcgi_param ... if_not_empty with an empty value).</summary>
    public void CancelValue() => _pending = -1;

    /// <summary>
    /// The free room after the pairs written so far, at least <paramref name="minimum"/> bytes (all of it, usually
    /// more). For a writer that encodes whole pairs itself (a server's compiled param list); it hands them over
    /// with <see cref="CommitEncoded"/>.
    /// </summary>
    internal Span<byte> GetFreeRoom(int minimum)
    {
        if (_buffer.Length - _length < minimum)
        {
            Grow(minimum);
        }

        _pending = -1;
        return _buffer.AsSpan(_length);
    }

    /// <summary>Takes the first <paramref name="bytes"/> of the free room as <paramref name="pairs"/> pairs already in
    /// name-value form (spec section 3.4), the largest of them <paramref name="largestPair"/> bytes long.</summary>
    internal void CommitEncoded(int bytes, int pairs, int largestPair)
    {
        if ((uint)bytes > (uint)(_buffer.Length - _length))
        {
            throw new ArgumentOutOfRangeException(nameof(bytes), bytes, "More bytes than the free room holds.");
        }

        _length += bytes;
        Count += pairs;
        if (largestPair > LargestPair)
        {
            LargestPair = largestPair;
        }
    }

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
        var nameField = NameValueCodec.LengthOfLength(name.Length);
        var valueField = NameValueCodec.LengthOfLength(valueLength);
        var fields = nameField + valueField;
        var pair = fields + name.Length + valueLength;
        if (_buffer.Length - _length < pair)
        {
            Grow(pair);
        }

        var span = _buffer.AsSpan(_length, pair);
        NameValueCodec.WriteLength(name.Length, span);
        NameValueCodec.WriteLength(valueLength, span[nameField..]);
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

    /// <summary>Writes the length fields of a begun pair when one needs four bytes; a four-byte value length moves
    /// the name and value three bytes right first. Returns the pair's encoded size.</summary>
    private int PlaceLongPair(int start, int nameLength, int valueLength)
    {
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
        return nameField + valueField + body;
    }

    private static void ThrowBadEnd(int start, int valueLength)
    {
        if (start < 0)
        {
            throw new InvalidOperationException("No pair was begun.");
        }

        throw new ArgumentOutOfRangeException(nameof(valueLength), valueLength, "The value is longer than the room BeginValue gave.");
    }

    /// <summary>Makes room for <paramref name="size"/> more bytes (the cold path of every write: the first buffer
    /// holds a usual request's params).</summary>
    private void Grow(int size)
    {
        ObjectDisposedException.ThrowIf(_buffer.Length == 0, this);
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
