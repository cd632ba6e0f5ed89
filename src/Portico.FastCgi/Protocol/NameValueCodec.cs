using System.Buffers;
using System.Buffers.Binary;

namespace Portico.FastCgi.Protocol;

/// <summary>Name-value pair encoding of spec section 3.4: each length is one byte when below 128,
/// otherwise four bytes big endian with the high bit set.</summary>
internal static class NameValueCodec
{
    /// <summary>The largest length a 4-byte length field can carry (31 bits).</summary>
    public const int MaxLength = int.MaxValue;

    public static int LengthOfLength(int length) => length < 0x80 ? 1 : 4;

    public static int EncodedLength(int nameLength, int valueLength) =>
        LengthOfLength(nameLength) + LengthOfLength(valueLength) + nameLength + valueLength;

    public static int EncodedLength(in NameValuePair pair) => EncodedLength(pair.Name.Length, pair.Value.Length);

    public static int Write(in NameValuePair pair, Span<byte> destination)
    {
        var offset = WriteLength(pair.Name.Length, destination);
        offset += WriteLength(pair.Value.Length, destination[offset..]);
        pair.Name.Span.CopyTo(destination[offset..]);
        offset += pair.Name.Length;
        pair.Value.Span.CopyTo(destination[offset..]);
        return offset + pair.Value.Length;
    }

    public static int WriteLength(int length, Span<byte> destination)
    {
        if (length < 0x80)
        {
            destination[0] = (byte)length;
            return 1;
        }

        BinaryPrimitives.WriteUInt32BigEndian(destination, (uint)length | 0x8000_0000u);
        return 4;
    }

    /// <summary>The encoded size of the pair that starts <paramref name="source"/> (which must hold a whole pair).</summary>
    public static int PairLength(ReadOnlySpan<byte> source)
    {
        var offset = 0;
        var name = ReadLength(source, ref offset);
        var value = ReadLength(source, ref offset);
        return offset + name + value;
    }

    private static int ReadLength(ReadOnlySpan<byte> source, ref int offset)
    {
        var first = source[offset];
        if ((first & 0x80) == 0)
        {
            offset++;
            return first;
        }

        var length = (int)(BinaryPrimitives.ReadUInt32BigEndian(source[offset..]) & 0x7FFF_FFFFu);
        offset += 4;
        return length;
    }

    /// <summary>Decodes one pair from the front of <paramref name="source"/>; false when incomplete.</summary>
    public static bool TryRead(ref ReadOnlySequence<byte> source, out byte[] name, out byte[] value)
    {
        name = value = [];
        var reader = new SequenceReader<byte>(source);
        if (!TryReadLength(ref reader, out var nameLength) || !TryReadLength(ref reader, out var valueLength))
        {
            return false;
        }

        if (reader.Remaining < (long)nameLength + valueLength)
        {
            return false;
        }

        name = new byte[nameLength];
        value = new byte[valueLength];
        reader.TryCopyTo(name);
        reader.Advance(nameLength);
        reader.TryCopyTo(value);
        reader.Advance(valueLength);
        source = source.Slice(reader.Position);
        return true;
    }

    private static bool TryReadLength(ref SequenceReader<byte> reader, out int length)
    {
        length = 0;
        if (!reader.TryPeek(out var first))
        {
            return false;
        }

        if ((first & 0x80) == 0)
        {
            reader.Advance(1);
            length = first;
            return true;
        }

        if (!reader.TryReadBigEndian(out int raw))
        {
            return false;
        }

        length = raw & 0x7FFF_FFFF;
        return true;
    }
}
