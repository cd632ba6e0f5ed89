using System.Buffers.Binary;
using System.Text;
using Portico.FastCgi.Protocol;

namespace Portico.FastCgi.Tests.Infrastructure;

/// <summary>Builds backend-side records byte by byte, independent of the production writer.</summary>
internal static class Records
{
    public static byte[] Record(FastCgiRecordType type, int requestId, ReadOnlySpan<byte> content, int padding = -1, byte version = 1)
    {
        if (padding < 0)
        {
            padding = (8 - content.Length % 8) % 8;
        }

        var bytes = new byte[8 + content.Length + padding];
        bytes[0] = version;
        bytes[1] = (byte)type;
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(2), (ushort)requestId);
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(4), (ushort)content.Length);
        bytes[6] = (byte)padding;
        content.CopyTo(bytes.AsSpan(8));
        for (var i = 0; i < padding; i++)
        {
            bytes[8 + content.Length + i] = 0xEE; // padding content must be ignored, whatever it is
        }

        return bytes;
    }

    public static byte[] Stdout(string text, int requestId = 1) => Record(FastCgiRecordType.Stdout, requestId, Encoding.UTF8.GetBytes(text));

    public static byte[] Stderr(string text, int requestId = 1) => Record(FastCgiRecordType.Stderr, requestId, Encoding.UTF8.GetBytes(text));

    public static byte[] EndRequest(int appStatus = 0, FastCgiProtocolStatus status = FastCgiProtocolStatus.RequestComplete, int requestId = 1)
    {
        var body = new byte[8];
        BinaryPrimitives.WriteInt32BigEndian(body, appStatus);
        body[4] = (byte)status;
        return Record(FastCgiRecordType.EndRequest, requestId, body);
    }

    /// <summary>A complete response: headers + body as STDOUT records of at most <paramref name="recordSize"/> bytes, then END_REQUEST.</summary>
    public static byte[] Response(string headersAndBody, int recordSize = 65535, string? stderr = null)
    {
        var output = new MemoryStream();
        var data = Encoding.UTF8.GetBytes(headersAndBody);
        for (var offset = 0; offset < data.Length; offset += recordSize)
        {
            var n = Math.Min(recordSize, data.Length - offset);
            output.Write(Record(FastCgiRecordType.Stdout, 1, data.AsSpan(offset, n)));
            if (stderr is not null)
            {
                output.Write(Stderr(stderr));
            }
        }

        output.Write(Record(FastCgiRecordType.Stdout, 1, []));
        output.Write(EndRequest());
        return output.ToArray();
    }

    public static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();
}
