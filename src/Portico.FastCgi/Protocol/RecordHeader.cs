using System.Buffers;
using System.Buffers.Binary;

namespace Portico.FastCgi.Protocol;

/// <summary>FCGI_Header, spec section 3.3: version, type, requestId (big endian),
/// contentLength (big endian), paddingLength, reserved.</summary>
internal readonly record struct RecordHeader(byte Version, FastCgiRecordType Type, ushort RequestId, ushort ContentLength, byte PaddingLength)
{
    public int TotalLength => FastCgiConstants.HeaderLength + ContentLength + PaddingLength;

    public static RecordHeader Create(FastCgiRecordType type, ushort requestId, int contentLength) =>
        new(FastCgiConstants.Version1, type, requestId, checked((ushort)contentLength), (byte)FastCgiConstants.PaddingFor(contentLength));

    public void Write(Span<byte> destination)
    {
        destination[0] = Version;
        destination[1] = (byte)Type;
        BinaryPrimitives.WriteUInt16BigEndian(destination[2..], RequestId);
        BinaryPrimitives.WriteUInt16BigEndian(destination[4..], ContentLength);
        destination[6] = PaddingLength;
        destination[7] = 0;
    }

    public static RecordHeader Read(ReadOnlySpan<byte> source) => new(
        source[0],
        (FastCgiRecordType)source[1],
        BinaryPrimitives.ReadUInt16BigEndian(source[2..]),
        BinaryPrimitives.ReadUInt16BigEndian(source[4..]),
        source[6]);

    /// <summary>Reads a header from the start of a possibly fragmented buffer.</summary>
    public static bool TryRead(in ReadOnlySequence<byte> buffer, out RecordHeader header)
    {
        if (buffer.Length < FastCgiConstants.HeaderLength)
        {
            header = default;
            return false;
        }

        Span<byte> bytes = stackalloc byte[FastCgiConstants.HeaderLength];
        buffer.Slice(0, FastCgiConstants.HeaderLength).CopyTo(bytes);
        header = Read(bytes);
        return true;
    }
}
