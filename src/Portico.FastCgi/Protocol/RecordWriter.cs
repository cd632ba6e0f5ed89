using System.Buffers;
using System.Buffers.Binary;

namespace Portico.FastCgi.Protocol;

/// <summary>Frames FastCGI records into a buffer writer. Every record is padded to 8 bytes (spec section 3.3).</summary>
internal static class RecordWriter
{
    public static void WriteBeginRequest(IBufferWriter<byte> writer, ushort requestId, bool keepConnection)
    {
        // FCGI_BeginRequestBody, spec section 5.1: role (2 bytes), flags, 5 reserved bytes.
        var span = writer.GetSpan(FastCgiConstants.HeaderLength + 8);
        RecordHeader.Create(FastCgiRecordType.BeginRequest, requestId, 8).Write(span);
        var body = span.Slice(FastCgiConstants.HeaderLength, 8);
        body.Clear();
        BinaryPrimitives.WriteUInt16BigEndian(body, FastCgiConstants.RoleResponder);
        body[2] = keepConnection ? FastCgiConstants.FlagKeepConn : (byte)0;
        writer.Advance(FastCgiConstants.HeaderLength + 8);
    }

    /// <summary>Writes one record of <paramref name="type"/> with the given content (at most 65535 bytes).</summary>
    public static void WriteRecord(IBufferWriter<byte> writer, FastCgiRecordType type, ushort requestId, ReadOnlySpan<byte> content)
    {
        var header = RecordHeader.Create(type, requestId, content.Length);
        var span = writer.GetSpan(header.TotalLength);
        header.Write(span);
        content.CopyTo(span[FastCgiConstants.HeaderLength..]);
        span.Slice(FastCgiConstants.HeaderLength + content.Length, header.PaddingLength).Clear();
        writer.Advance(header.TotalLength);
    }

    /// <summary>An empty record ends a stream (PARAMS, STDIN), spec section 3.3 "Stream records".</summary>
    public static void WriteEndOfStream(IBufferWriter<byte> writer, FastCgiRecordType type, ushort requestId) =>
        WriteRecord(writer, type, requestId, []);

    /// <summary>Writes a stream's bytes in records of at most <paramref name="chunkSize"/> bytes.</summary>
    public static void WriteStream(IBufferWriter<byte> writer, FastCgiRecordType type, ushort requestId, ReadOnlySequence<byte> data, int chunkSize = FastCgiConstants.StdinChunkSize)
    {
        while (!data.IsEmpty)
        {
            var length = (int)Math.Min(data.Length, chunkSize);
            var header = RecordHeader.Create(type, requestId, length);
            var span = writer.GetSpan(header.TotalLength);
            header.Write(span);
            data.Slice(0, length).CopyTo(span[FastCgiConstants.HeaderLength..]);
            span.Slice(FastCgiConstants.HeaderLength + length, header.PaddingLength).Clear();
            writer.Advance(header.TotalLength);
            data = data.Slice(length);
        }
    }

    /// <summary>
    /// Writes the PARAMS stream including its empty terminator. A pair is never split across records:
    /// php-fpm decodes each PARAMS record on its own (fpm_fcgi/fastcgi.c), so a split pair would be lost
    /// or misread. Hence one pair must fit one record's 65535-byte content (spec section 3.3).
    /// </summary>
    public static void WriteParams(IBufferWriter<byte> writer, ushort requestId, IReadOnlyList<NameValuePair> pairs) =>
        WriteParams(writer, requestId, [], pairs);

    /// <summary>
    /// Writes pre-encoded pairs (<see cref="Client.FastCgiParamBlock"/>), then <paramref name="pairs"/>, then the
    /// terminator. The block goes out as one record when it fits (the usual case); otherwise it is cut between pairs.
    /// </summary>
    public static void WriteParams(IBufferWriter<byte> writer, ushort requestId, ReadOnlySpan<byte> encoded, IReadOnlyList<NameValuePair> pairs)
    {
        ValidateParams(pairs);
        while (!encoded.IsEmpty)
        {
            var length = encoded.Length;
            if (length > FastCgiConstants.MaxContentLength)
            {
                length = 0;
                while (length < encoded.Length)
                {
                    var pair = NameValueCodec.PairLength(encoded[length..]);
                    if (length + pair > FastCgiConstants.MaxContentLength)
                    {
                        break;
                    }

                    length += pair;
                }

                if (length == 0)
                {
                    throw new FastCgiException(FastCgiErrorKind.ParamTooLarge, $"A FastCGI param encodes to more than {FastCgiConstants.MaxContentLength} bytes; a name/value pair must fit one PARAMS record.");
                }
            }

            WriteRecord(writer, FastCgiRecordType.Params, requestId, encoded[..length]);
            encoded = encoded[length..];
        }

        WritePairs(writer, requestId, pairs);
        WriteEndOfStream(writer, FastCgiRecordType.Params, requestId);
    }

    private static void WritePairs(IBufferWriter<byte> writer, ushort requestId, IReadOnlyList<NameValuePair> pairs)
    {
        var start = 0;
        while (start < pairs.Count)
        {
            var contentLength = 0;
            var end = start;
            while (end < pairs.Count)
            {
                var length = NameValueCodec.EncodedLength(pairs[end]);
                if (contentLength + length > FastCgiConstants.MaxContentLength)
                {
                    break;
                }

                contentLength += length;
                end++;
            }

            var header = RecordHeader.Create(FastCgiRecordType.Params, requestId, contentLength);
            var span = writer.GetSpan(header.TotalLength);
            header.Write(span);
            var offset = FastCgiConstants.HeaderLength;
            for (var i = start; i < end; i++)
            {
                offset += NameValueCodec.Write(pairs[i], span[offset..]);
            }

            span.Slice(offset, header.PaddingLength).Clear();
            writer.Advance(header.TotalLength);
            start = end;
        }
    }

    /// <summary>Rejects, before any I/O, a pair that cannot fit one PARAMS record.</summary>
    public static void ValidateParams(IReadOnlyList<NameValuePair> pairs)
    {
        for (var i = 0; i < pairs.Count; i++)
        {
            var length = NameValueCodec.EncodedLength(pairs[i]);
            if (length > FastCgiConstants.MaxContentLength)
            {
                throw new FastCgiException(
                    FastCgiErrorKind.ParamTooLarge,
                    $"FastCGI param #{i} encodes to {length} bytes; a name/value pair must fit one PARAMS record (at most {FastCgiConstants.MaxContentLength} bytes) because the backend parses each record alone.");
            }
        }
    }
}
