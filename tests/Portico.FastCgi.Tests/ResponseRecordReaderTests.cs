using System.IO.Pipelines;
using System.Text;
using Portico.FastCgi.Protocol;
using Portico.FastCgi.Tests.Infrastructure;

namespace Portico.FastCgi.Tests;

public sealed class ResponseRecordReaderTests
{
    // A fresh token per use: one hanging test must not cancel the others.
    private static CancellationToken TestTimeout => Serve.TestTimeout();

    private static byte[] InterleavedResponse() => Records.Concat(
        Records.Stdout("Content-Type: text/plain\r\n"),
        Records.Stderr("PHP message: first "),
        Records.Stdout("X-A: 1\r\n\r\nhello "),
        Records.Stderr("line\nsecond line\r\n"),
        Records.Record(FastCgiRecordType.Stdout, 1, Encoding.UTF8.GetBytes("world"), padding: 255),
        Records.Stderr("unterminated"),
        Records.Stdout(""),
        Records.EndRequest(appStatus: 3));

    private static async Task<(string Stdout, List<string> Stderr, ResponseRecordReader Reader)> ReadAllAsync(Stream source, int destinationSize = 7)
    {
        var stderr = new List<string>();
        var reader = new ResponseRecordReader(PipeReader.Create(source, new StreamPipeReaderOptions(bufferSize: 16)), 1, stderr.Add);
        var output = new MemoryStream();
        var buffer = new byte[destinationSize];
        int n;
        while ((n = await reader.ReadStdoutAsync(buffer, TestTimeout)) > 0)
        {
            output.Write(buffer, 0, n);
        }

        return (Encoding.UTF8.GetString(output.ToArray()), stderr, reader);
    }

    [Fact]
    public async Task Records_fed_one_byte_at_a_time_are_reassembled_with_stderr_separated()
    {
        var (stdout, stderr, reader) = await ReadAllAsync(ChunkedStream.OneByteAtATime(InterleavedResponse()));
        Assert.Equal("Content-Type: text/plain\r\nX-A: 1\r\n\r\nhello world", stdout);
        Assert.Equal(["PHP message: first line", "second line", "unterminated"], stderr);
        Assert.Equal(new EndRequest(3, FastCgiProtocolStatus.RequestComplete), reader.EndRequest);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(42)]
    [InlineData(1234)]
    public async Task Records_fed_in_random_chunks_are_reassembled(int seed)
    {
        var body = string.Concat(Enumerable.Range(0, 20_000).Select(i => (char)('a' + i % 26)));
        var bytes = Records.Response("Status: 200\n\n" + body, recordSize: 777, stderr: "warn\n");
        var (stdout, stderr, _) = await ReadAllAsync(ChunkedStream.Random(bytes, seed, maxChunk: 50), destinationSize: 1000);
        Assert.Equal("Status: 200\n\n" + body, stdout);
        Assert.All(stderr, l => Assert.Equal("warn", l));
        Assert.Equal((20_013 + 776) / 777, stderr.Count);
    }

    [Fact]
    public async Task Unknown_record_types_and_management_records_are_skipped()
    {
        var bytes = Records.Concat(
            Records.Record((FastCgiRecordType)42, 1, "ignored"u8),
            Records.Record(FastCgiRecordType.GetValuesResult, 0, "\u0003\u0001FCGI_MAX_CONNS1"u8),
            Records.Record(FastCgiRecordType.UnknownType, 0, new byte[8]),
            Records.Record(FastCgiRecordType.Stdout, 0, "management stdout is not ours"u8),
            Records.Response("A: b\n\nbody"));
        var (stdout, _, _) = await ReadAllAsync(ChunkedStream.OneByteAtATime(bytes));
        Assert.Equal("A: b\n\nbody", stdout);
    }

    [Fact]
    public async Task Record_for_another_request_id_is_a_protocol_error()
    {
        var bytes = Records.Concat(Records.Stdout("A: b\n\n"), Records.Stdout("other", requestId: 2), Records.EndRequest());
        var ex = await Assert.ThrowsAsync<FastCgiException>(() => ReadAllAsync(new MemoryStream(bytes)));
        Assert.Equal(FastCgiErrorKind.ProtocolError, ex.Kind);
        Assert.Contains("request id 2", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Record_with_wrong_version_is_a_protocol_error()
    {
        var bytes = Records.Concat(Records.Record(FastCgiRecordType.Stdout, 1, "x"u8, version: 2), Records.EndRequest());
        var ex = await Assert.ThrowsAsync<FastCgiException>(() => ReadAllAsync(new MemoryStream(bytes)));
        Assert.Equal(FastCgiErrorKind.ProtocolError, ex.Kind);
    }

    [Fact]
    public async Task End_of_stream_before_end_request_is_backend_closed()
    {
        var bytes = Records.Stdout("A: b\n\npartial");
        var ex = await Assert.ThrowsAsync<FastCgiException>(() => ReadAllAsync(new MemoryStream(bytes[..^3])));
        Assert.Equal(FastCgiErrorKind.BackendClosed, ex.Kind);
    }

    [Theory]
    [InlineData(FastCgiProtocolStatus.Overloaded)]
    [InlineData(FastCgiProtocolStatus.CantMpxConn)]
    [InlineData(FastCgiProtocolStatus.UnknownRole)]
    public async Task End_request_with_refusing_protocol_status_is_request_rejected(FastCgiProtocolStatus status)
    {
        var ex = await Assert.ThrowsAsync<FastCgiException>(() => ReadAllAsync(new MemoryStream(Records.EndRequest(0, status))));
        Assert.Equal(FastCgiErrorKind.RequestRejected, ex.Kind);
        Assert.Equal(status, ex.ProtocolStatus);
    }

    [Fact]
    public async Task Reader_stops_exactly_after_end_request_so_a_kept_alive_connection_stays_in_step()
    {
        var bytes = Records.Concat(Records.Response("A: 1\n\nfirst"), Records.Response("A: 2\n\nsecond"));
        var pipe = PipeReader.Create(ChunkedStream.Random(bytes, 7, 9));
        foreach (var expected in new[] { "A: 1\n\nfirst", "A: 2\n\nsecond" })
        {
            var reader = new ResponseRecordReader(pipe, 1, null);
            var output = new MemoryStream();
            var buffer = new byte[64];
            int n;
            while ((n = await reader.ReadStdoutAsync(buffer, TestTimeout)) > 0)
            {
                output.Write(buffer, 0, n);
            }

            Assert.Equal(expected, Encoding.UTF8.GetString(output.ToArray()));
            Assert.True(reader.IsEnded);
        }
    }

    [Fact]
    public async Task Buffered_stdout_is_served_without_waiting_for_more_bytes_when_the_destination_is_small()
    {
        // The connection stays open (writer not completed): everything must come out of what is buffered.
        var pipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0));
        await pipe.Writer.WriteAsync(Records.Response("A: b\n\n" + new string('x', 200_000)), TestTimeout);
        var reader = new ResponseRecordReader(pipe.Reader, 1, null);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var buffer = new byte[4096];
        var total = 0;
        int n;
        while ((n = await reader.ReadStdoutAsync(buffer, cts.Token)) > 0)
        {
            total += n;
        }

        Assert.Equal(6 + 200_000, total);
        Assert.True(reader.IsEnded);
    }
}
