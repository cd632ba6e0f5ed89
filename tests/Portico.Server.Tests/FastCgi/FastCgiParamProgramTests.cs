using System.Buffers.Binary;
using System.Text;
using Portico.Config.Model;
using Portico.FastCgi.Client;
using Portico.Server.FastCgi;
using Portico.Server.Phases;
using Portico.Server.Tests.Variables;
using Portico.Server.Variables;

namespace Portico.Server.Tests.FastCgi;

/// <summary>The compiled fastcgi_param list must send, pair for pair, what evaluating each param on its own sends:
/// the same names, values and order, if_not_empty honoured, and both length-field sizes of spec section 3.4.</summary>
public sealed class FastCgiParamProgramTests
{
    // nginx's fastcgi_params, plus the SCRIPT_FILENAME line of a typical PHP location.
    private static readonly (string Name, string Value, bool IfNotEmpty)[] s_fastcgiParams =
    [
        ("QUERY_STRING", "$query_string", false),
        ("REQUEST_METHOD", "$request_method", false),
        ("CONTENT_TYPE", "$content_type", false),
        ("CONTENT_LENGTH", "$content_length", false),
        ("SCRIPT_NAME", "$fastcgi_script_name", false),
        ("REQUEST_URI", "$request_uri", false),
        ("DOCUMENT_URI", "$document_uri", false),
        ("DOCUMENT_ROOT", "$document_root", false),
        ("SERVER_PROTOCOL", "$server_protocol", false),
        ("REQUEST_SCHEME", "$scheme", false),
        ("HTTPS", "$https", true),
        ("GATEWAY_INTERFACE", "CGI/1.1", false),
        ("SERVER_SOFTWARE", "nginx/$nginx_version", false),
        ("REMOTE_ADDR", "$remote_addr", false),
        ("REMOTE_USER", "$remote_user", false),
        ("REMOTE_PORT", "$remote_port", false),
        ("SERVER_ADDR", "$server_addr", false),
        ("SERVER_PORT", "$server_port", false),
        ("SERVER_NAME", "$server_name", false),
        ("REDIRECT_STATUS", "200", false),
        ("SCRIPT_FILENAME", "$document_root$fastcgi_script_name", false),
    ];

    [Fact]
    public void Nginx_fastcgi_params_go_out_as_each_value_evaluates()
    {
        var ctx = Request("/app/index.php?a=1&b=2");

        var sent = Run(s_fastcgiParams, ctx, out var block);

        Assert.Equal(Expected(s_fastcgiParams, ctx), sent);
        Assert.Contains(("GATEWAY_INTERFACE", "CGI/1.1"), sent);
        Assert.Contains(("REQUEST_URI", "/app/index.php?a=1&b=2"), sent);
        Assert.DoesNotContain(sent, p => p.Name == "HTTPS"); // if_not_empty, plain http
        Assert.Equal(sent.Count, block.Count);
        Assert.Equal(sent.Max(p => EncodedLength(p.Name, p.Value)), block.LargestPair);
    }

    [Theory]
    [InlineData(126)]
    [InlineData(127)]
    [InlineData(128)]
    [InlineData(1_000)]
    [InlineData(5_000)]
    [InlineData(70_000)]
    public void Values_around_the_length_field_boundary_and_beyond_the_first_buffer_encode_as_the_codec_does(int uriLength)
    {
        // $request_uri of the given length; the constant after it checks that what follows a moved pair is intact.
        var uri = "/" + new string('u', uriLength - 1);
        (string, string, bool)[] list = [("A", "$request_uri", false), ("B", "x", false), ("C", "$request_uri$request_uri", false), ("D", "$uri", false)];
        var ctx = Request(uri);

        var sent = Run(list, ctx, out var block);

        Assert.Equal([("A", uri), ("B", "x"), ("C", uri + uri), ("D", uri)], sent);
        Assert.Equal(EncodedLength("C", uri + uri), block.LargestPair);
        Assert.Equal(Encode(sent), block.Encoded.ToArray());
    }

    [Fact]
    public void Many_long_values_keep_every_pair_whole_as_the_block_grows()
    {
        var uri = "/" + new string('w', 300);
        var list = Enumerable.Range(0, 40).Select(i => ($"P{i}", i % 3 == 0 ? "k" : "$request_uri", false)).ToArray();
        var ctx = Request(uri);

        var sent = Run(list, ctx, out var block);

        Assert.Equal(40, sent.Count);
        Assert.Equal(Expected(list, ctx), sent);
        Assert.Equal(Encode(sent), block.Encoded.ToArray());
    }

    [Theory]
    [InlineData(2034)]
    [InlineData(2036)]
    [InlineData(2037)]
    [InlineData(2038)]
    [InlineData(2039)]
    [InlineData(2040)]
    [InlineData(2042)]
    public void A_value_that_leaves_the_first_buffer_nearly_full_is_followed_by_whole_pairs(int uriLength)
    {
        // With a 2048-byte block, "A" and a value of about 2040 bytes leave a few bytes: too few for the next name
        // and its length fields, which must then go to a grown block.
        var uri = "/" + new string('n', uriLength - 1);
        var sent = Run([("A", "$request_uri", false), ("B", "$uri", false), ("C", "c", false)], Request(uri), out var block);

        Assert.Equal([("A", uri), ("B", uri), ("C", "c")], sent);
        Assert.Equal(Encode(sent), block.Encoded.ToArray());
    }

    [Fact]
    public void If_not_empty_drops_empty_values_constant_or_not_and_keeps_the_rest()
    {
        (string, string, bool)[] list =
        [
            ("EMPTY_CONST", "", true), ("KEPT_EMPTY", "", false), ("NO_ARGS", "$args", true), ("ARGS_ANYWAY", "$args", false),
            ("URI", "$uri", true),
        ];

        var sent = Run(list, Request("/p"), out _);

        Assert.Equal([("KEPT_EMPTY", ""), ("ARGS_ANYWAY", ""), ("URI", "/p")], sent);
    }

    [Fact]
    public void Non_ascii_values_go_out_as_utf8()
    {
        var ctx = Request("/x");
        ctx.Uri = "/héllo";
        var sent = Run([("DOCUMENT_URI", "$document_uri", false), ("Z", "z", false)], ctx, out var block);

        Assert.Equal([("DOCUMENT_URI", "/héllo"), ("Z", "z")], sent);
        Assert.Equal(Encode(sent), block.Encoded.ToArray());
    }

    [Fact]
    public void Pairs_follow_those_already_in_the_block()
    {
        using var block = new FastCgiParamBlock();
        block.Add("FIRST"u8, "1");
        Program([("SECOND", "$uri", false)]).WriteTo(Request("/two"), block);
        block.Add("THIRD"u8, "3");

        Assert.Equal([("FIRST", "1"), ("SECOND", "/two"), ("THIRD", "3")], Decode(block.Encoded.Span));
        Assert.Equal(3, block.Count);
    }

    private static RequestContext Request(string target)
    {
        var ctx = TestRequests.Get(target);
        ctx.Settings = TestRequests.Settings() with { FastCgi = new FastCgiSettings() };
        return ctx;
    }

    private static FastCgiParamProgram Program(IEnumerable<(string Name, string Value, bool IfNotEmpty)> list) =>
        FastCgiParamProgram.Compile(
            [.. list.Select(p => new FastCgiParamConfig(p.Name, new ConfigValue(p.Value, TestRequests.Where), p.IfNotEmpty, TestRequests.Where))],
            VariableScope.Default);

    private static List<(string Name, string Value)> Run(IEnumerable<(string Name, string Value, bool IfNotEmpty)> list, RequestContext ctx, out FastCgiParamBlock block)
    {
        block = new FastCgiParamBlock(initialCapacity: 2048);
        Program(list).WriteTo(ctx, block);
        return Decode(block.Encoded.Span);
    }

    /// <summary>What sending each param on its own gives: its value evaluated to a string, empty if_not_empty ones left out.</summary>
    private static List<(string Name, string Value)> Expected(IEnumerable<(string Name, string Value, bool IfNotEmpty)> list, RequestContext ctx) =>
        [.. list
            .Select(p => (p.Name, Value: CompiledValue.Compile(new ConfigValue(p.Value, TestRequests.Where), VariableScope.Default).Evaluate(ctx), p.IfNotEmpty))
            .Where(p => !p.IfNotEmpty || p.Value.Length > 0)
            .Select(p => (p.Name, p.Value))];

    private static int LengthField(int length) => length < 0x80 ? 1 : 4;

    private static int EncodedLength(string name, string value)
    {
        int n = Encoding.UTF8.GetByteCount(name), v = Encoding.UTF8.GetByteCount(value);
        return LengthField(n) + LengthField(v) + n + v;
    }

    /// <summary>Spec section 3.4 written out independently of the code under test.</summary>
    private static byte[] Encode(IEnumerable<(string Name, string Value)> pairs)
    {
        var output = new List<byte>();
        foreach (var (name, value) in pairs)
        {
            var n = Encoding.UTF8.GetBytes(name);
            var v = Encoding.UTF8.GetBytes(value);
            foreach (var length in new[] { n.Length, v.Length })
            {
                if (length < 0x80)
                {
                    output.Add((byte)length);
                }
                else
                {
                    var field = new byte[4];
                    BinaryPrimitives.WriteUInt32BigEndian(field, (uint)length | 0x8000_0000u);
                    output.AddRange(field);
                }
            }

            output.AddRange(n);
            output.AddRange(v);
        }

        return [.. output];
    }

    private static List<(string Name, string Value)> Decode(ReadOnlySpan<byte> encoded)
    {
        var pairs = new List<(string, string)>();
        var at = 0;
        while (at < encoded.Length)
        {
            var n = ReadLength(encoded, ref at);
            var v = ReadLength(encoded, ref at);
            pairs.Add((Encoding.UTF8.GetString(encoded.Slice(at, n)), Encoding.UTF8.GetString(encoded.Slice(at + n, v))));
            at += n + v;
        }

        return pairs;
    }

    private static int ReadLength(ReadOnlySpan<byte> encoded, ref int at)
    {
        if ((encoded[at] & 0x80) == 0)
        {
            return encoded[at++];
        }

        var length = (int)(BinaryPrimitives.ReadUInt32BigEndian(encoded[at..]) & 0x7FFF_FFFFu);
        at += 4;
        return length;
    }
}
