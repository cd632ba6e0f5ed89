using System.Buffers;
using System.Text;
using Portico.FastCgi.Protocol;

namespace Portico.FastCgi.Tests;

public sealed class RecordCodecTests
{
    [Fact]
    public void Record_header_round_trips_big_endian_fields()
    {
        var bytes = new byte[8];
        new RecordHeader(1, FastCgiRecordType.Stdout, 0x0102, 0xA0B0, 7).Write(bytes);
        Assert.Equal(new byte[] { 1, 6, 1, 2, 0xA0, 0xB0, 7, 0 }, bytes);
        Assert.Equal(new RecordHeader(1, FastCgiRecordType.Stdout, 0x0102, 0xA0B0, 7), RecordHeader.Read(bytes));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(9)]
    [InlineData(65535)]
    public void Written_records_are_padded_to_eight_bytes(int contentLength)
    {
        var writer = new ArrayBufferWriter<byte>();
        RecordWriter.WriteRecord(writer, FastCgiRecordType.Stdin, 1, new byte[contentLength]);
        Assert.Equal(0, writer.WrittenCount % 8);
        var header = RecordHeader.Read(writer.WrittenSpan);
        Assert.Equal(contentLength, header.ContentLength);
        Assert.Equal(writer.WrittenCount, header.TotalLength);
    }

    [Fact]
    public void Begin_request_asks_for_responder_role_and_keep_conn_flag()
    {
        var writer = new ArrayBufferWriter<byte>();
        RecordWriter.WriteBeginRequest(writer, 1, keepConnection: true);
        Assert.Equal(new byte[] { 1, 1, 0, 1, 0, 8, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0 }, writer.WrittenSpan.ToArray());

        writer.Clear();
        RecordWriter.WriteBeginRequest(writer, 1, keepConnection: false);
        Assert.Equal(0, writer.WrittenSpan[10]);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(127, 1)]
    [InlineData(128, 4)]
    [InlineData(70000, 4)]
    public void Name_value_lengths_use_one_byte_below_128_else_four_bytes_with_high_bit(int valueLength, int expectedLengthBytes)
    {
        var pair = new NameValuePair("N"u8.ToArray(), new byte[valueLength]);
        var buffer = new byte[NameValueCodec.EncodedLength(pair)];
        NameValueCodec.Write(pair, buffer);
        Assert.Equal(1 + expectedLengthBytes + 1 + valueLength, buffer.Length);
        if (expectedLengthBytes == 4)
        {
            Assert.Equal(0x80, buffer[1] & 0x80);
        }

        var sequence = new ReadOnlySequence<byte>(buffer);
        Assert.True(NameValueCodec.TryRead(ref sequence, out var name, out var value));
        Assert.Equal("N", Encoding.ASCII.GetString(name));
        Assert.Equal(valueLength, value.Length);
        Assert.True(sequence.IsEmpty);
    }

    [Fact]
    public void Name_value_decoder_waits_for_a_complete_pair()
    {
        var pair = new NameValuePair("NAME", new string('v', 300));
        var buffer = new byte[NameValueCodec.EncodedLength(pair)];
        NameValueCodec.Write(pair, buffer);
        for (var cut = 0; cut < buffer.Length; cut++)
        {
            var partial = new ReadOnlySequence<byte>(buffer, 0, cut);
            Assert.False(NameValueCodec.TryRead(ref partial, out _, out _));
        }
    }

    [Fact]
    public void Name_value_pair_is_never_split_across_params_records()
    {
        // 40 pairs of ~3000 bytes: ~120 KB of params, forcing several records with pairs at the edges.
        var pairs = Enumerable.Range(0, 40).Select(i => new NameValuePair($"P{i}", new string((char)('a' + i % 26), 2990 + i))).ToList();
        var writer = new ArrayBufferWriter<byte>();
        RecordWriter.WriteParams(writer, 1, pairs);

        var decoded = new List<string>();
        var records = 0;
        var bytes = writer.WrittenMemory;
        while (!bytes.IsEmpty)
        {
            var header = RecordHeader.Read(bytes.Span);
            Assert.Equal(FastCgiRecordType.Params, header.Type);
            var content = new ReadOnlySequence<byte>(bytes.Slice(8, header.ContentLength));
            records++;
            while (!content.IsEmpty)
            {
                // Each record must decode completely on its own, as php-fpm requires.
                Assert.True(NameValueCodec.TryRead(ref content, out var name, out _));
                decoded.Add(Encoding.ASCII.GetString(name));
            }

            bytes = bytes[header.TotalLength..];
            if (header.ContentLength == 0)
            {
                Assert.True(bytes.IsEmpty, "the empty PARAMS record must be last");
            }
        }

        Assert.True(records >= 3, $"expected several PARAMS records, got {records}");
        Assert.Equal(pairs.Select((_, i) => $"P{i}"), decoded);
    }

    [Fact]
    public void Pair_of_exactly_one_record_is_accepted_and_one_byte_more_is_rejected()
    {
        // name 1 byte, value length 4-byte encoded: 1 + 4 + 1 + v = 65535 => v = 65529.
        var fits = new NameValuePair("N"u8.ToArray(), new byte[65529]);
        var writer = new ArrayBufferWriter<byte>();
        RecordWriter.WriteParams(writer, 1, [fits]);
        Assert.Equal(65535, RecordHeader.Read(writer.WrittenSpan).ContentLength);

        var tooBig = new NameValuePair("N"u8.ToArray(), new byte[65530]);
        var ex = Assert.Throws<FastCgiException>(() => RecordWriter.WriteParams(new ArrayBufferWriter<byte>(), 1, [tooBig]));
        Assert.Equal(FastCgiErrorKind.ParamTooLarge, ex.Kind);
        Assert.Contains("65535", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_params_still_sends_the_terminating_empty_record()
    {
        var writer = new ArrayBufferWriter<byte>();
        RecordWriter.WriteParams(writer, 1, []);
        Assert.Equal(8, writer.WrittenCount);
        var header = RecordHeader.Read(writer.WrittenSpan);
        Assert.Equal(FastCgiRecordType.Params, header.Type);
        Assert.Equal(0, header.ContentLength);
    }

    [Fact]
    public void Stream_data_is_cut_into_records_of_at_most_the_chunk_size()
    {
        var writer = new ArrayBufferWriter<byte>();
        RecordWriter.WriteStream(writer, FastCgiRecordType.Stdin, 1, new ReadOnlySequence<byte>(new byte[100_001]), chunkSize: 32768);
        var sizes = new List<int>();
        var bytes = writer.WrittenMemory;
        while (!bytes.IsEmpty)
        {
            var header = RecordHeader.Read(bytes.Span);
            sizes.Add(header.ContentLength);
            bytes = bytes[header.TotalLength..];
        }

        Assert.Equal(new[] { 32768, 32768, 32768, 1697 }, sizes);
    }
}
