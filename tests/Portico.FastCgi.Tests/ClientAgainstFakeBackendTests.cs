using System.Net;
using System.Net.Sockets;
using System.Text;
using Portico.FastCgi.Client;
using Portico.FastCgi.Protocol;
using Portico.FastCgi.Tests.Infrastructure;

namespace Portico.FastCgi.Tests;

public sealed class ClientAgainstFakeBackendTests
{
    private static FastCgiClient Client(FakeFastCgiServer server, FastCgiClientOptions? options = null) =>
        new(server.EndPoint, options ?? new FastCgiClientOptions { ReadTimeout = TimeSpan.FromSeconds(20) });

    private static FastCgiRequest Request() => new FastCgiRequest().Add("SCRIPT_FILENAME", "/x.php").Add("REQUEST_METHOD", "GET");

    [Fact]
    public async Task Request_is_framed_as_begin_params_and_stdin_with_both_terminators()
    {
        FakeRequest? seen = null;
        await using var server = new FakeFastCgiServer(Serve.Responding(r =>
        {
            seen = r;
            return Records.Response("Content-Type: text/plain\r\n\r\n" + Encoding.ASCII.GetString(r.Stdin).Length);
        }));
        await using var client = Client(server);
        var body = new byte[100_000];
        new Random(1).NextBytes(body);
        var request = Request();
        request.Body = new MemoryStream(body);

        await using var response = await client.SendAsync(request, Serve.TestTimeout());
        Assert.Equal("100000", await Serve.ReadBodyAsync(response, Serve.TestTimeout()));

        Assert.NotNull(seen);
        Assert.Equal(1, seen.RequestId);
        Assert.Equal(FastCgiConstants.RoleResponder, seen.Role);
        Assert.False(seen.KeepConnection);
        Assert.True(seen.ParamsTerminated);
        Assert.True(seen.PaddingOk);
        Assert.Equal("/x.php", seen.Params["SCRIPT_FILENAME"]);
        Assert.Equal(body, seen.Stdin);
        Assert.All(seen.StdinRecordSizes, size => Assert.InRange(size, 1, 32 * 1024));
    }

    [Fact]
    public async Task Request_without_body_still_sends_empty_params_and_stdin_terminators()
    {
        FakeRequest? seen = null;
        await using var server = new FakeFastCgiServer(Serve.Responding(r =>
        {
            seen = r;
            return Records.Response("A: b\n\n");
        }));
        await using var client = Client(server);
        await using var response = await client.SendAsync(new FastCgiRequest(), Serve.TestTimeout());
        Assert.Equal("", await Serve.ReadBodyAsync(response, Serve.TestTimeout()));
        Assert.True(seen!.ParamsTerminated);
        Assert.Empty(seen.Stdin);
        Assert.Equal(3, seen.RecordCount); // BEGIN_REQUEST, empty PARAMS, empty STDIN
    }

    [Fact]
    public async Task Headers_spanning_many_records_sent_byte_by_byte_are_parsed()
    {
        var headers = "Status: 201 Created\r\n" + string.Concat(Enumerable.Range(0, 50).Select(i => $"X-H{i}: {new string('v', i)}\r\n")) + "\r\n";
        await using var server = new FakeFastCgiServer(Serve.AfterRequest(c => c.SendTrickleAsync(Records.Response(headers + "the body", recordSize: 13))));
        await using var client = Client(server);
        await using var response = await client.SendAsync(Request(), Serve.TestTimeout());
        Assert.Equal(201, response.StatusCode);
        Assert.Equal("Created", response.ReasonPhrase);
        Assert.Equal(50, response.Headers.Count);
        Assert.Equal(new string('v', 49), response.GetHeader("x-h49"));
        Assert.Equal("the body", await Serve.ReadBodyAsync(response, Serve.TestTimeout()));
        Assert.Equal(0, response.EndRequest?.AppStatus);
    }

    [Fact]
    public async Task Stderr_lines_interleaved_with_stdout_reach_the_callback()
    {
        await using var server = new FakeFastCgiServer(Serve.AfterRequest(c => c.SendAsync(Records.Concat(
            Records.Stderr("PHP Warning: a\nPHP Not"),
            Records.Stdout("A: b\n\nbo"),
            Records.Stderr("ice: b\n"),
            Records.Stdout("dy"),
            Records.Stdout(""),
            Records.EndRequest()))));
        await using var client = Client(server);
        var lines = new List<string>();
        var request = Request();
        request.StderrLine = lines.Add;
        await using var response = await client.SendAsync(request, Serve.TestTimeout());
        Assert.Equal("body", await Serve.ReadBodyAsync(response, Serve.TestTimeout()));
        Assert.Equal(["PHP Warning: a", "PHP Notice: b"], lines);
    }

    [Fact]
    public async Task Stderr_and_stdout_interleaved_within_the_head_and_sent_byte_by_byte_are_read_whole()
    {
        // The head is read straight off the socket: every record boundary, padding byte and management record
        // may fall between two receives.
        await using var server = new FakeFastCgiServer(Serve.AfterRequest(c => c.SendTrickleAsync(Records.Concat(
            Records.Stderr("PHP Warning: a\nPHP Not"),
            Records.Stdout("Status: 202 Accepted\r\nA: "),
            Records.Record(FastCgiRecordType.GetValuesResult, 0, "\u0001\u0001xy"u8),
            Records.Stderr("ice: b\n"),
            Records.Stdout("b\r\n\r\nbo"),
            Records.Stdout("dy"),
            Records.Stdout(""),
            Records.EndRequest()), pause: TimeSpan.FromMilliseconds(1))));
        await using var client = Client(server);
        var lines = new List<string>();
        var request = Request();
        request.StderrLine = lines.Add;
        await using var response = await client.SendAsync(request, Serve.TestTimeout());
        Assert.Equal(202, response.StatusCode);
        Assert.Equal("b", response.GetHeader("A"));
        Assert.Equal("body", await Serve.ReadBodyAsync(response, Serve.TestTimeout()));
        Assert.Equal(["PHP Warning: a", "PHP Notice: b"], lines);
    }

    [Fact]
    public async Task Garbage_bytes_are_a_protocol_error()
    {
        await using var server = new FakeFastCgiServer(Serve.AfterRequest(c => c.SendAsync("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"u8.ToArray())));
        await using var client = Client(server);
        var ex = await Assert.ThrowsAsync<FastCgiException>(() => client.SendAsync(Request(), Serve.TestTimeout()));
        Assert.Equal(FastCgiErrorKind.ProtocolError, ex.Kind);
    }

    [Fact]
    public async Task Wrong_version_is_a_protocol_error()
    {
        await using var server = new FakeFastCgiServer(Serve.AfterRequest(c => c.SendAsync(Records.Record(FastCgiRecordType.Stdout, 1, "A: b\n\n"u8, version: 0))));
        await using var client = Client(server);
        var ex = await Assert.ThrowsAsync<FastCgiException>(() => client.SendAsync(Request(), Serve.TestTimeout()));
        Assert.Equal(FastCgiErrorKind.ProtocolError, ex.Kind);
    }

    [Fact]
    public async Task Record_for_another_request_id_is_a_protocol_error()
    {
        await using var server = new FakeFastCgiServer(Serve.AfterRequest(c => c.SendAsync(Records.Stdout("A: b\n\n", requestId: 7))));
        await using var client = Client(server);
        var ex = await Assert.ThrowsAsync<FastCgiException>(() => client.SendAsync(Request(), Serve.TestTimeout()));
        Assert.Equal(FastCgiErrorKind.ProtocolError, ex.Kind);
    }

    [Fact]
    public async Task Backend_closing_mid_headers_is_backend_closed()
    {
        await using var server = new FakeFastCgiServer(Serve.AfterRequest(c => c.SendAsync(Records.Stdout("Content-Type: text/ht"))));
        await using var client = Client(server);
        var ex = await Assert.ThrowsAsync<FastCgiException>(() => client.SendAsync(Request(), Serve.TestTimeout()));
        Assert.Equal(FastCgiErrorKind.BackendClosed, ex.Kind);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Backend_closing_mid_body_makes_the_body_stream_throw(bool reset)
    {
        await using var server = new FakeFastCgiServer(Serve.AfterRequest(async c =>
        {
            await c.SendAsync(Records.Stdout("A: b\n\n" + new string('x', 10_000)));
            if (reset)
            {
                c.Reset();
            }
        }));
        await using var client = Client(server);
        await using var response = await client.SendAsync(Request(), Serve.TestTimeout());
        var ex = await Assert.ThrowsAsync<FastCgiException>(() => response.Body.CopyToAsync(Stream.Null, Serve.TestTimeout()));
        Assert.Equal(FastCgiErrorKind.BackendClosed, ex.Kind);
    }

    [Fact]
    public async Task Backend_that_never_answers_times_out_as_read_timeout()
    {
        await using var server = new FakeFastCgiServer(Serve.AfterRequest(c => Task.Delay(Timeout.Infinite, c.Stopping)));
        await using var client = Client(server, new FastCgiClientOptions { ReadTimeout = TimeSpan.FromMilliseconds(300) });
        var ex = await Assert.ThrowsAsync<FastCgiException>(() => client.SendAsync(Request(), Serve.TestTimeout()));
        Assert.Equal(FastCgiErrorKind.ReadTimeout, ex.Kind);
        Assert.True(ex.IsTimeout);
    }

    [Fact]
    public async Task Backend_that_stalls_mid_body_times_out_in_the_body_stream()
    {
        await using var server = new FakeFastCgiServer(Serve.AfterRequest(async c =>
        {
            await c.SendAsync(Records.Stdout("A: b\n\nsome"));
            await Task.Delay(Timeout.Infinite, c.Stopping);
        }));
        await using var client = Client(server, new FastCgiClientOptions { ReadTimeout = TimeSpan.FromMilliseconds(300) });
        await using var response = await client.SendAsync(Request(), Serve.TestTimeout());
        var ex = await Assert.ThrowsAsync<FastCgiException>(() => response.Body.CopyToAsync(Stream.Null, Serve.TestTimeout()));
        Assert.Equal(FastCgiErrorKind.ReadTimeout, ex.Kind);
    }

    [Fact]
    public async Task Backend_that_never_reads_the_body_times_out_as_send_timeout()
    {
        await using var server = new FakeFastCgiServer(c => Task.Delay(Timeout.Infinite, c.Stopping));
        await using var client = Client(server, new FastCgiClientOptions { SendTimeout = TimeSpan.FromMilliseconds(300) });
        var request = Request();
        request.Body = new ZeroStream(1L << 30); // far beyond any socket buffer
        var ex = await Assert.ThrowsAsync<FastCgiException>(() => client.SendAsync(request, Serve.TestTimeout()));
        Assert.Equal(FastCgiErrorKind.SendTimeout, ex.Kind);
    }

    [Fact]
    public async Task Huge_header_block_is_header_too_large()
    {
        await using var server = new FakeFastCgiServer(Serve.AfterRequest(c => c.SendAsync(Records.Response("X-Big: " + new string('a', 5000) + "\r\n\r\nbody"))));
        await using var client = Client(server, new FastCgiClientOptions { MaxResponseHeaderBytes = 4096 });
        var ex = await Assert.ThrowsAsync<FastCgiException>(() => client.SendAsync(Request(), Serve.TestTimeout()));
        Assert.Equal(FastCgiErrorKind.HeaderTooLarge, ex.Kind);
    }

    [Fact]
    public async Task Header_block_just_under_the_cap_is_accepted()
    {
        var headers = "X-Big: " + new string('a', 4096 - 7 - 4) + "\r\n\r\n";
        Assert.Equal(4096, headers.Length);
        await using var server = new FakeFastCgiServer(Serve.AfterRequest(c => c.SendAsync(Records.Response(headers + "body"))));
        await using var client = Client(server, new FastCgiClientOptions { MaxResponseHeaderBytes = 4096 });
        await using var response = await client.SendAsync(Request(), Serve.TestTimeout());
        Assert.Equal("body", await Serve.ReadBodyAsync(response, Serve.TestTimeout()));
    }

    [Fact]
    public async Task Malformed_header_line_is_invalid_response_header()
    {
        await using var server = new FakeFastCgiServer(Serve.AfterRequest(c => c.SendAsync(Records.Response("this is not a header\n\nbody"))));
        await using var client = Client(server);
        var ex = await Assert.ThrowsAsync<FastCgiException>(() => client.SendAsync(Request(), Serve.TestTimeout()));
        Assert.Equal(FastCgiErrorKind.InvalidResponseHeader, ex.Kind);
    }

    [Fact]
    public async Task Overloaded_end_request_is_request_rejected()
    {
        await using var server = new FakeFastCgiServer(Serve.AfterRequest(c => c.SendAsync(Records.EndRequest(0, FastCgiProtocolStatus.Overloaded))));
        await using var client = Client(server);
        var ex = await Assert.ThrowsAsync<FastCgiException>(() => client.SendAsync(Request(), Serve.TestTimeout()));
        Assert.Equal(FastCgiErrorKind.RequestRejected, ex.Kind);
        Assert.Equal(FastCgiProtocolStatus.Overloaded, ex.ProtocolStatus);
    }

    [Fact]
    public async Task End_request_before_header_block_ends_is_a_protocol_error()
    {
        await using var server = new FakeFastCgiServer(Serve.AfterRequest(c => c.SendAsync(Records.Concat(Records.Stdout("A: b\n"), Records.EndRequest()))));
        await using var client = Client(server);
        var ex = await Assert.ThrowsAsync<FastCgiException>(() => client.SendAsync(Request(), Serve.TestTimeout()));
        Assert.Equal(FastCgiErrorKind.ProtocolError, ex.Kind);
    }

    [Fact]
    public async Task Refused_connection_is_connect_failed()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        await using var client = new FastCgiClient(FastCgiEndPoint.Tcp("127.0.0.1", port));
        var ex = await Assert.ThrowsAsync<FastCgiException>(() => client.SendAsync(Request(), Serve.TestTimeout()));
        Assert.Equal(FastCgiErrorKind.ConnectFailed, ex.Kind);
    }

    [Fact]
    public async Task Connect_that_gets_no_answer_is_connect_timeout()
    {
        // A listener that never accepts, with a backlog of 1: once its queue is full Linux drops further
        // SYNs, so a connect hangs until our timeout.
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var endPoint = FastCgiEndPoint.Tcp("127.0.0.1", ((IPEndPoint)listener.LocalEndPoint!).Port);
        var held = new List<FastCgiConnection>();
        FastCgiException? timeout = null;
        try
        {
            for (var i = 0; i < 20 && timeout is null; i++)
            {
                try
                {
                    held.Add(await FastCgiConnection.ConnectAsync(endPoint, FastCgiConnector.Sockets, TimeSpan.FromMilliseconds(300), TimeProvider.System, Serve.TestTimeout()));
                }
                catch (FastCgiException ex)
                {
                    timeout = ex;
                }
            }
        }
        finally
        {
            foreach (var c in held)
            {
                await c.DisposeAsync();
            }
        }

        Assert.NotNull(timeout);
        Assert.Equal(FastCgiErrorKind.ConnectTimeout, timeout.Kind);
        Assert.True(timeout.IsTimeout);
    }

    [Fact]
    public async Task Reading_the_body_again_after_its_end_returns_zero()
    {
        await using var server = new FakeFastCgiServer(Serve.Responding("A: b\n\nbody"));
        await using var client = Client(server);
        await using var response = await client.SendAsync(Request(), Serve.TestTimeout());
        var buffer = new byte[100];
        Assert.Equal(4, await response.Body.ReadAtLeastAsync(buffer, 100, throwOnEndOfStream: false, Serve.TestTimeout()));
        Assert.Equal(0, await response.Body.ReadAsync(buffer, Serve.TestTimeout()));
        Assert.Equal(0, await response.Body.ReadAsync(buffer, Serve.TestTimeout()));
    }

    [Fact]
    public async Task Missing_unix_socket_is_connect_failed()
    {
        await using var client = new FastCgiClient(FastCgiEndPoint.Unix(Path.Combine(Path.GetTempPath(), Guid.NewGuid().ToString("N") + ".sock")));
        var ex = await Assert.ThrowsAsync<FastCgiException>(() => client.SendAsync(Request(), Serve.TestTimeout()));
        Assert.Equal(FastCgiErrorKind.ConnectFailed, ex.Kind);
    }

    [Fact]
    public async Task Oversized_param_is_rejected_before_connecting()
    {
        await using var server = new FakeFastCgiServer(Serve.Responding("A: b\n\n"));
        await using var client = Client(server);
        var request = Request().Add("HTTP_COOKIE", new string('c', 70_000));
        var ex = await Assert.ThrowsAsync<FastCgiException>(() => client.SendAsync(request, Serve.TestTimeout()));
        Assert.Equal(FastCgiErrorKind.ParamTooLarge, ex.Kind);
        Assert.Equal(0, server.AcceptedConnections);
    }

    [Fact]
    public async Task Caller_cancellation_is_operation_canceled_not_a_backend_error()
    {
        await using var server = new FakeFastCgiServer(Serve.AfterRequest(c => Task.Delay(Timeout.Infinite, c.Stopping)));
        await using var client = Client(server);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var ex = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.SendAsync(Request(), cts.Token));
        Assert.IsNotType<FastCgiException>(ex);
    }

    [Fact]
    public async Task A_request_cancelled_before_it_is_sent_never_reaches_the_backend()
    {
        var requests = 0;
        await using var server = new FakeFastCgiServer(Serve.Responding(_ =>
        {
            Interlocked.Increment(ref requests);
            return Records.Response("A: b\n\n");
        }));
        await using var client = Client(server);

        // A kept-alive idle connection first: the path that sends without waiting for anything.
        await using (var first = await client.SendAsync(Request(), Serve.TestTimeout()))
        {
            await first.Body.CopyToAsync(Stream.Null);
        }

        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.SendAsync(Request(), cancelled.Token));
        await Task.Delay(100);
        Assert.Equal(1, Volatile.Read(ref requests));
    }

    [Fact]
    public async Task Body_can_be_streamed_from_a_pipe_reader()
    {
        FakeRequest? seen = null;
        await using var server = new FakeFastCgiServer(Serve.Responding(r =>
        {
            seen = r;
            return Records.Response("A: b\n\n");
        }));
        await using var client = Client(server);
        var pipe = new System.IO.Pipelines.Pipe();
        var request = Request();
        request.BodyReader = pipe.Reader;
        var send = client.SendAsync(request, Serve.TestTimeout());
        for (var i = 0; i < 10; i++)
        {
            await pipe.Writer.WriteAsync(Encoding.ASCII.GetBytes(new string((char)('0' + i), 10_000)));
        }

        await pipe.Writer.CompleteAsync();
        await using var response = await send;
        await response.Body.CopyToAsync(Stream.Null);
        Assert.Equal(100_000, seen!.Stdin.Length);
        Assert.Equal((byte)'9', seen.Stdin[^1]);
    }

    /// <summary>An endless-ish body that costs no memory.</summary>
    private sealed class ZeroStream(long length) : Stream
    {
        private readonly long _length = length;
        private long _remaining = length;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => _length;

        public override long Position { get => _length - _remaining; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = (int)Math.Min(count, _remaining);
            Array.Clear(buffer, offset, n);
            _remaining -= n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
