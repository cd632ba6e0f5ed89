using System.IO.Pipelines;
using System.Text;
using Portico.FastCgi.Client;
using Portico.FastCgi.Protocol;
using Portico.FastCgi.Tests.Infrastructure;

namespace Portico.FastCgi.Tests;

/// <summary>The request body is sent while the response is read, as nginx does.</summary>
public sealed class RequestBodyStreamingTests
{
    private static FastCgiRequest Request() => new FastCgiRequest().Add("SCRIPT_FILENAME", "/x.php");

    [Fact]
    public async Task Backend_writing_a_large_response_before_reading_stdin_does_not_deadlock()
    {
        const int output = 8 * 1024 * 1024;
        const int upload = 16 * 1024 * 1024;
        long drained = -1;
        await using var server = new FakeFastCgiServer(async c =>
        {
            await c.ReadRequestAsync(stopAfterParams: true);

            // Far more than the socket buffers hold: only a client that reads while it sends gets past this.
            await c.SendAsync(Records.Response("Content-Type: x\n\n" + new string('o', output))[..^24]);
            drained = await c.DrainStdinAsync();
            await c.SendAsync(Records.Concat(Records.Stdout(""), Records.EndRequest()));
        });
        await using var client = new FastCgiClient(server.EndPoint, new FastCgiClientOptions
        {
            KeepConnection = true,
            SendTimeout = TimeSpan.FromSeconds(10),
            ReadTimeout = TimeSpan.FromSeconds(10),
        });
        var request = Request();
        request.Body = new MemoryStream(new byte[upload]);

        await using var response = await client.SendAsync(request, Serve.TestTimeout());
        var body = new MemoryStream();
        await response.Body.CopyToAsync(body, Serve.TestTimeout());
        Assert.Equal(output, body.Length);
        Assert.Equal(upload, drained);
        Assert.Equal(1, client.Pool.IdleCount);
    }

    [Fact]
    public async Task Response_that_ends_before_stdin_was_sent_closes_the_connection()
    {
        await using var server = new FakeFastCgiServer(async c =>
        {
            await c.ReadRequestAsync(stopAfterParams: true);
            await c.SendAsync(Records.Response("A: b\n\nearly"));
            await c.WaitForClientCloseAsync();
        });
        await using var client = new FastCgiClient(server.EndPoint, new FastCgiClientOptions { KeepConnection = true });
        var pipe = new Pipe();
        var request = Request();
        request.BodyReader = pipe.Reader;
        await pipe.Writer.WriteAsync(new byte[1000]);

        await using (var response = await client.SendAsync(request, Serve.TestTimeout()))
        {
            Assert.Equal("early", await Serve.ReadBodyAsync(response, Serve.TestTimeout()));
        }

        // STDIN was never finished, so the rest would be read as the next request: never pooled.
        Assert.Equal(0, client.Pool.IdleCount);
        await pipe.Writer.CompleteAsync();
    }

    [Fact]
    public async Task Failing_request_body_surfaces_its_own_exception_not_a_timeout()
    {
        await using var server = new FakeFastCgiServer(Serve.Responding("A: b\n\nok"));
        await using var client = new FastCgiClient(server.EndPoint, new FastCgiClientOptions { ReadTimeout = TimeSpan.FromMinutes(5) });
        var request = Request();
        request.Body = new FailingStream(100_000);
        var ex = await Assert.ThrowsAsync<ClientWentAwayException>(() => client.SendAsync(request, Serve.TestTimeout()));
        Assert.Equal("client went away", ex.Message);
    }

    [Fact]
    public async Task Read_timeout_does_not_run_while_the_body_is_still_being_uploaded()
    {
        FakeRequest? seen = null;
        await using var server = new FakeFastCgiServer(Serve.Responding(r =>
        {
            seen = r;
            return Records.Response("A: b\n\nok");
        }));
        await using var client = new FastCgiClient(server.EndPoint, new FastCgiClientOptions { ReadTimeout = TimeSpan.FromMilliseconds(200) });
        var pipe = new Pipe();
        var request = Request();
        request.BodyReader = pipe.Reader;
        var send = client.SendAsync(request, Serve.TestTimeout());

        // A slow client: the upload takes several read-timeouts long.
        for (var i = 0; i < 5; i++)
        {
            await pipe.Writer.WriteAsync(Encoding.ASCII.GetBytes("chunk"));
            await Task.Delay(150);
        }

        await pipe.Writer.CompleteAsync();
        await using var response = await send;
        Assert.Equal("ok", await Serve.ReadBodyAsync(response, Serve.TestTimeout()));
        Assert.Equal("chunkchunkchunkchunkchunk", Encoding.ASCII.GetString(seen!.Stdin));
    }

    [Fact]
    public async Task A_body_stream_failing_with_an_IOException_surfaces_it_not_a_backend_failure()
    {
        // Kestrel reports a client that reset, or a body read that timed out, as IOExceptions: they are the
        // client's failure (a 400 or 408 for the server), not a backend connection that broke (a 502).
        await using var server = new FakeFastCgiServer(Serve.Responding("A: b\n\nok"));
        await using var client = new FastCgiClient(server.EndPoint, new FastCgiClientOptions { ReadTimeout = TimeSpan.FromMinutes(5) });
        var request = Request();
        request.Body = new FailingStream(100_000, () => new IOException("client body read timed out"));
        var ex = await Assert.ThrowsAsync<IOException>(() => client.SendAsync(request, Serve.TestTimeout()));
        Assert.Equal("client body read timed out", ex.Message);
    }

    private sealed class ClientWentAwayException(string message) : Exception(message);

    /// <summary>A body that delivers some bytes, then fails like an aborted client upload.</summary>
    private sealed class FailingStream(int before, Func<Exception>? failure = null) : Stream
    {
        private int _left = before;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_left == 0)
            {
                throw failure?.Invoke() ?? new ClientWentAwayException("client went away");
            }

            var n = Math.Min(count, _left);
            _left -= n;
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
