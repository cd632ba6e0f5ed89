using System.Buffers;
using System.Text;
using Portico.FastCgi.Client;
using Portico.FastCgi.Protocol;
using Portico.FastCgi.Tests.Infrastructure;

namespace Portico.FastCgi.Tests;

/// <summary>Params written straight into wire form (<see cref="FastCgiParamBlock"/>) must be byte for byte what
/// the pair codec writes, and must reach a backend as the same params.</summary>
public sealed class ParamBlockTests
{
    // Name and value lengths around the 1-byte/4-byte length boundary (spec section 3.4: 127 is the last short one).
    public static TheoryData<int, int> Lengths => new()
    {
        { 1, 0 }, { 11, 5 }, { 127, 127 }, { 128, 127 }, { 127, 128 }, { 200, 5000 }, { 3, 70_000 },
    };

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Added_pair_encodes_as_the_codec_does(int nameLength, int valueLength)
    {
        var name = Filled(nameLength, 'N');
        var value = Filled(valueLength, 'v');
        using var block = new FastCgiParamBlock(initialCapacity: 16);
        block.Add(name, value);

        Assert.Equal(Codec(new NameValuePair(name, value)), block.Encoded.ToArray());
        Assert.Equal(1, block.Count);
        Assert.Equal(NameValueCodec.EncodedLength(nameLength, valueLength), block.LargestPair);
    }

    [Theory]
    [MemberData(nameof(Lengths))]
    public void Value_formatted_in_place_encodes_as_the_codec_does(int nameLength, int valueLength)
    {
        var name = Filled(nameLength, 'N');
        var value = Filled(valueLength, 'v');
        using var block = new FastCgiParamBlock(initialCapacity: 16);
        block.Add("FIRST"u8, "1"u8);

        // Ask for more room than used, as a formatter that does not know its length in advance does.
        var room = block.BeginValue(name, valueLength + 100);
        value.CopyTo(room);
        block.EndValue(valueLength);
        block.Add("LAST"u8, "z"u8);

        var expected = Codec(new NameValuePair("FIRST"u8.ToArray(), "1"u8.ToArray()))
            .Concat(Codec(new NameValuePair(name, value)))
            .Concat(Codec(new NameValuePair("LAST"u8.ToArray(), "z"u8.ToArray())));
        Assert.Equal(expected, block.Encoded.ToArray());
        Assert.Equal(3, block.Count);
    }

    [Fact]
    public void String_values_go_out_as_utf8_and_a_cancelled_pair_leaves_nothing()
    {
        using var block = new FastCgiParamBlock();
        block.Add("A"u8, "héllo");
        block.BeginValue("DROPPED"u8, 10)[0] = (byte)'x';
        block.CancelValue();
        block.Add("B"u8, new string('é', 100));

        var decoded = Decode(block.Encoded.ToArray());
        Assert.Equal(["A=héllo", "B=" + new string('é', 100)], decoded);
        Assert.Equal(2, block.Count);
    }

    [Fact]
    public void Large_block_is_framed_in_records_cut_between_pairs()
    {
        // ~120 KB of params: several PARAMS records, each of which must decode alone (php-fpm reads them so).
        using var block = new FastCgiParamBlock();
        for (var i = 0; i < 40; i++)
        {
            block.Add(Encoding.ASCII.GetBytes($"P{i}"), new string((char)('a' + (i % 26)), 2990 + i));
        }

        var writer = new ArrayBufferWriter<byte>();
        RecordWriter.WriteParams(writer, 1, block.Encoded.Span, []);

        var names = new List<string>();
        var records = 0;
        var bytes = writer.WrittenMemory;
        while (!bytes.IsEmpty)
        {
            var header = RecordHeader.Read(bytes.Span);
            Assert.Equal(FastCgiRecordType.Params, header.Type);
            Assert.InRange(header.ContentLength, 0, 65535);
            records++;
            names.AddRange(Decode(bytes.Slice(8, header.ContentLength).ToArray()).Select(p => p[..p.IndexOf('=', StringComparison.Ordinal)]));
            bytes = bytes[header.TotalLength..];
        }

        Assert.True(records >= 3, $"expected several PARAMS records, got {records}");
        Assert.Equal(Enumerable.Range(0, 40).Select(i => $"P{i}"), names);
    }

    [Fact]
    public async Task Backend_receives_block_params_then_list_params()
    {
        FakeRequest? seen = null;
        await using var server = new FakeFastCgiServer(Serve.Responding(r =>
        {
            seen = r;
            return Records.Response("Content-Type: text/plain\r\n\r\nok");
        }));
        await using var client = new FastCgiClient(server.EndPoint);
        using var block = new FastCgiParamBlock();
        block.Add("SCRIPT_FILENAME"u8, "/srv/www/index.php");
        block.Add("HTTP_COOKIE"u8, new string('c', 300));
        var request = new FastCgiRequest { ParamBlock = block }.Add("REQUEST_METHOD", "GET");

        await using var response = await client.SendAsync(request, Serve.TestTimeout());
        Assert.Equal("ok", await Serve.ReadBodyAsync(response, Serve.TestTimeout()));
        Assert.NotNull(seen);
        Assert.True(seen.ParamsTerminated);
        Assert.Equal("/srv/www/index.php", seen.Params["SCRIPT_FILENAME"]);
        Assert.Equal(new string('c', 300), seen.Params["HTTP_COOKIE"]);
        Assert.Equal("GET", seen.Params["REQUEST_METHOD"]);
    }

    [Fact]
    public async Task Block_with_a_pair_over_one_record_is_rejected_before_connecting()
    {
        await using var server = new FakeFastCgiServer(Serve.Responding("A: b\n\n"));
        await using var client = new FastCgiClient(server.EndPoint);
        using var block = new FastCgiParamBlock();
        block.Add("HTTP_COOKIE"u8, new string('c', 70_000));

        var ex = await Assert.ThrowsAsync<FastCgiException>(() => client.SendAsync(new FastCgiRequest { ParamBlock = block }, Serve.TestTimeout()));
        Assert.Equal(FastCgiErrorKind.ParamTooLarge, ex.Kind);
        Assert.Equal(0, server.AcceptedConnections);
    }

    private static byte[] Filled(int length, char c) => Enumerable.Repeat((byte)c, length).ToArray();

    private static byte[] Codec(NameValuePair pair)
    {
        var bytes = new byte[NameValueCodec.EncodedLength(pair)];
        NameValueCodec.Write(pair, bytes);
        return bytes;
    }

    private static List<string> Decode(byte[] encoded)
    {
        var pairs = new List<string>();
        var sequence = new ReadOnlySequence<byte>(encoded);
        while (!sequence.IsEmpty)
        {
            Assert.True(NameValueCodec.TryRead(ref sequence, out var name, out var value));
            pairs.Add(Encoding.UTF8.GetString(name) + "=" + Encoding.UTF8.GetString(value));
        }

        return pairs;
    }
}
