using System.Buffers;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Portico.Server.Hosting;
using Portico.Server.Phases;

namespace Portico.Server.FastCgi;

/// <summary>
/// The request body as the FastCGI handler sends it. With <c>fastcgi_request_buffering on</c> (the default)
/// the whole body is read before a backend connection is taken (a slow upload does not pin a php-fpm
/// worker): into memory up to <c>client_body_buffer_size</c>, else into a temp file
/// (<c>$request_body_file</c>). A chunked body is always buffered, since php-fpm needs CONTENT_LENGTH
/// (nginx 1.22 buffers chunked bodies for FastCGI too). <c>client_max_body_size</c> is enforced while
/// reading, so a chunked body that grows too large gets 413 as nginx does, and client_body_timeout between reads
/// (<see cref="ClientBodyTimeoutStream"/>). Kept on the request's features,
/// so an internal redirect to another FastCGI location reuses it; disposed with the response.
/// </summary>
internal sealed class RequestBodyBuffer : IAsyncDisposable
{
    /// <summary>Kestrel's message for a body that ended before its length or last chunk (CoreStrings).</summary>
    public const string UnexpectedEnd = "Unexpected end of request content.";

    private const int ChunkSize = 64 * 1024;

    private RequestBodyBuffer(Stream? stream, long length, bool replayable, string? filePath)
    {
        Stream = stream;
        Length = length;
        Replayable = replayable;
        FilePath = filePath;
    }

    /// <summary>The body to send, or null when there is none.</summary>
    public Stream? Stream { get; }

    public long Length { get; }

    /// <summary>True when the body can be sent again (buffered), so another upstream server may be tried.</summary>
    public bool Replayable { get; }

    public string? FilePath { get; }

    public static RequestBodyBuffer Empty { get; } = new(null, 0, true, null);

    /// <summary>
    /// A reader of the whole body, from its start, for one exchange with a backend. Each exchange (a retry on the
    /// next server, an X-Accel-Redirect or error_page to another FastCGI location) gets its own position: an
    /// exchange that ended early (the backend answered before taking all of STDIN) may still be reading for a
    /// moment, and must not move the next one's place. A body streamed unbuffered has only the one reader.
    /// </summary>
    public Stream? OpenReader() => Stream switch
    {
        MemoryStream memory => new MemoryStream(memory.GetBuffer(), 0, (int)memory.Length, writable: false),
        FileStream file => new FileView(file.SafeFileHandle, Length),
        var other => other,
    };

    // Not async itself: most requests (GET, HEAD) have no body, and then no state machine is started.
    public static ValueTask<(RequestBodyBuffer? Body, long TooLarge)> ReadAsync(RequestContext ctx, bool requestBuffering)
    {
        var http = ctx.Http;
        if (ctx.RequestBody is { } held)
        {
            // Read before an internal redirect (X-Accel-Redirect, error_page) to another FastCGI location.
            return new((held, 0));
        }

        var request = http.Request;
        var declared = request.ContentLength;

        // HTTP/1.1 (RFC 9112 section 6.3): without Content-Length or Transfer-Encoding a request has no body.
        var chunked = declared is null && request.Headers.TransferEncoding.Count > 0
            && http.Features.Find<IHttpRequestBodyDetectionFeature>()?.CanHaveBody == true;
        if (!chunked && (declared ?? 0) == 0)
        {
            return new((Empty, 0));
        }

        if (!requestBuffering && !chunked)
        {
            // fastcgi_request_buffering off: stream the body while the backend reads it (not replayable).
            var streamed = new RequestBodyBuffer(new ClientBodyTimeoutStream(request.Body, ctx.Settings.ClientBodyTimeout), declared!.Value, replayable: false, null);
            Keep(ctx, streamed);
            return new((streamed, 0));
        }

        return BufferAsync(ctx, declared, chunked);
    }

    private static async ValueTask<(RequestBodyBuffer? Body, long TooLarge)> BufferAsync(RequestContext ctx, long? declared, bool chunked)
    {
        var http = ctx.Http;
        var request = http.Request;
        var limit = ctx.Settings.ClientMaxBodySize;
        var memoryLimit = Math.Max(0, ctx.Settings.ClientBodyBufferSize);
        Stream target = declared is { } d && d <= memoryLimit ? new MemoryStream((int)d) : new MemoryStream();
        string? path = null;
        var buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
        await using var source = new ClientBodyTimeoutStream(request.Body, ctx.Settings.ClientBodyTimeout);
        long total = 0;
        try
        {
            while (true)
            {
                var read = await source.ReadAsync(buffer.AsMemory(0, ChunkSize), http.RequestAborted).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                total += read;
                if (limit > 0 && total > limit)
                {
                    await target.DisposeAsync().ConfigureAwait(false);
                    return (null, total);
                }

                if (path is null && target.Length + read > memoryLimit)
                {
                    // Spill to a temp file (nginx: "a client request body is buffered to a temporary file"), in
                    // client_body_temp_path, made when first needed (nginx makes it at startup).
                    // A body is the client's own data: the directory and the file are the worker's alone (nginx: 0700
                    // and 0600), also in a shared /tmp.
                    var directory = ctx.Settings.ClientBodyTempPath ?? Path.GetTempPath();
                    var options = new FileStreamOptions
                    {
                        Mode = FileMode.CreateNew,
                        Access = FileAccess.ReadWrite,
                        Share = FileShare.Read,
                        BufferSize = 1,
                        Options = FileOptions.DeleteOnClose,
                    };
                    if (OperatingSystem.IsWindows())
                    {
                        Directory.CreateDirectory(directory);
                    }
                    else
                    {
                        Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
                        options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                    }

                    path = Path.Combine(directory, "portico-body-" + Guid.NewGuid().ToString("N"));
                    var file = new FileStream(path, options);
                    var memory = (MemoryStream)target;
                    await file.WriteAsync(memory.GetBuffer().AsMemory(0, (int)memory.Length), http.RequestAborted).ConfigureAwait(false);
                    target = file;
                }

                await target.WriteAsync(buffer.AsMemory(0, read), http.RequestAborted).ConfigureAwait(false);
            }
        }
        catch (Exception ex) when (ex is Microsoft.AspNetCore.Connections.ConnectionResetException
                                   || (ex is OperationCanceledException or IOException && http.RequestAborted.IsCancellationRequested))
        {
            // The client went away while sending its body: Kestrel tells it by a reset, or by aborting the request
            // (it does that itself when a chunked body ends early). nginx: "client prematurely closed connection
            // while reading client request body", 400, whichever way it came.
            await target.DisposeAsync().ConfigureAwait(false);
            throw new BadHttpRequestException(UnexpectedEnd, StatusCodes.Status400BadRequest, ex);
        }
        catch
        {
            await target.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        target.Position = 0;
        if (chunked)
        {
            // $content_length (CONTENT_LENGTH) is the length read, as nginx sets it after a chunked body.
            request.ContentLength = total;
        }

        var body = new RequestBodyBuffer(total == 0 ? null : target, total, replayable: true, path);
        Keep(ctx, body);
        return (body, 0);
    }

    private static void Keep(RequestContext ctx, RequestBodyBuffer body)
    {
        ctx.RequestBody = body;
        ctx.Http.Response.RegisterForDisposeAsync(body);
    }

    // Kestrel's own body stream is not ours to dispose; a timed view of it (its timer) is.
    public ValueTask DisposeAsync() => Stream is FileStream or MemoryStream or ClientBodyTimeoutStream ? Stream.DisposeAsync() : ValueTask.CompletedTask;

    /// <summary>A read-only view of the body's temp file with a position of its own (pread, no shared offset).</summary>
    private sealed class FileView(Microsoft.Win32.SafeHandles.SafeFileHandle handle, long length) : Stream
    {
        private long _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => length;

        public override long Position
        {
            get => _position;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var read = RandomAccess.Read(handle, buffer[..(int)Math.Min(buffer.Length, length - _position)], _position);
            _position += read;
            return read;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await RandomAccess.ReadAsync(handle, buffer[..(int)Math.Min(buffer.Length, length - _position)], _position, cancellationToken).ConfigureAwait(false);
            _position += read;
            return read;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
