using System.Buffers;
using System.IO.Pipelines;
using Portico.FastCgi.Protocol;
using Portico.FastCgi.Response;

namespace Portico.FastCgi.Client;

/// <summary>
/// One request/response on one connection: writes BEGIN_REQUEST, PARAMS and STDIN, reads the CGI header
/// block, then serves the body. Owns the connection until it is handed back to the pool or closed.
/// </summary>
internal sealed class FastCgiExchange
{
    private const ushort RequestId = FastCgiConstants.DefaultRequestId;
    private const int InitialHeadBuffer = 16 * 1024;

    private readonly FastCgiConnectionPool _pool;
    private readonly FastCgiConnection _connection;
    private readonly FastCgiClientOptions _options;
    private readonly IoDeadline _deadline;
    private ResponseRecordReader? _records;
    private int _released;
    private bool _bodyTouched;
    private bool _responseSeen;

    public FastCgiExchange(FastCgiConnectionPool pool, FastCgiConnection connection, FastCgiClientOptions options)
    {
        _pool = pool;
        _connection = connection;
        _options = options;
        _deadline = new IoDeadline(pool.Options.TimeProvider);
    }

    public EndRequest? EndRequest => _records?.EndRequest;

    public bool IsEnded => _records is { IsEnded: true };

    /// <summary>
    /// True when the exchange failed in a way that is safe to repeat on a new connection: nothing of the
    /// request body was consumed and no response byte arrived. This covers the race where a kept-alive
    /// connection was closed by the backend (e.g. php-fpm pm.max_requests) just as it was taken from the pool.
    /// </summary>
    public bool FailedBeforeAnyExchange => !_bodyTouched && !_responseSeen;

    public async Task<FastCgiResponse> RunAsync(FastCgiRequest request, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _deadline.Token);
        var phase = FastCgiErrorKind.SendTimeout;
        try
        {
            _connection.RequestCount++;
            var writer = _connection.Writer;
            RecordWriter.WriteBeginRequest(writer, RequestId, _options.KeepConnection);
            RecordWriter.WriteParams(writer, RequestId, request.Params);
            await SendBodyAsync(request, linked.Token, cancellationToken).ConfigureAwait(false);

            // Empty STDIN ends the body stream even when there is no body (spec section 3.3, 6.2).
            RecordWriter.WriteEndOfStream(writer, FastCgiRecordType.Stdin, RequestId);
            await FlushAsync(linked.Token).ConfigureAwait(false);

            phase = FastCgiErrorKind.ReadTimeout;
            _records = new ResponseRecordReader(_connection.Reader, RequestId, request.StderrLine);
            return await ReadHeadAsync(linked.Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            await AbortAsync().ConfigureAwait(false);
            var translated = ErrorTranslation.Translate(ex, _deadline, phase, cancellationToken, _pool.EndPoint);
            if (translated is not null)
            {
                throw translated;
            }

            throw;
        }
    }

    private async Task SendBodyAsync(FastCgiRequest request, CancellationToken ioToken, CancellationToken callerToken)
    {
        if (request.Body is { } body)
        {
            _bodyTouched = true;
            // Read the body straight into the pipe's memory after a reserved header: no intermediate copy.
            const int chunk = FastCgiConstants.StdinChunkSize;
            while (true)
            {
                var memory = _connection.Writer.GetMemory(FastCgiConstants.HeaderLength + chunk + FastCgiConstants.Alignment);
                var read = await body.ReadAsync(memory.Slice(FastCgiConstants.HeaderLength, chunk), callerToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                var header = RecordHeader.Create(FastCgiRecordType.Stdin, RequestId, read);
                header.Write(memory.Span);
                memory.Span.Slice(FastCgiConstants.HeaderLength + read, header.PaddingLength).Clear();
                _connection.Writer.Advance(header.TotalLength);
                await FlushAsync(ioToken).ConfigureAwait(false);
            }
        }
        else if (request.BodyReader is { } pipe)
        {
            _bodyTouched = true;
            while (true)
            {
                var result = await pipe.ReadAsync(callerToken).ConfigureAwait(false);
                RecordWriter.WriteStream(_connection.Writer, FastCgiRecordType.Stdin, RequestId, result.Buffer);
                pipe.AdvanceTo(result.Buffer.End);
                await FlushAsync(ioToken).ConfigureAwait(false);
                if (result.IsCompleted || result.IsCanceled)
                {
                    break;
                }
            }
        }
    }

    private async ValueTask FlushAsync(CancellationToken token)
    {
        _deadline.Arm(_options.SendTimeout);
        var result = await _connection.Writer.FlushAsync(token).ConfigureAwait(false);
        _deadline.Disarm();
        if (result.IsCanceled)
        {
            throw new OperationCanceledException(token);
        }
    }

    private async Task<FastCgiResponse> ReadHeadAsync(CancellationToken token)
    {
        var cap = _options.MaxResponseHeaderBytes;
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Min(cap, InitialHeadBuffer));
        var filled = 0;
        var block = new CgiHeaderBlock();
        try
        {
            while (!block.IsComplete)
            {
                if (filled == buffer.Length)
                {
                    if (buffer.Length >= cap)
                    {
                        throw new FastCgiException(FastCgiErrorKind.HeaderTooLarge, $"The FastCGI response header block exceeds {cap} bytes.");
                    }

                    var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(cap, buffer.Length * 2));
                    buffer.AsSpan(0, filled).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }

                // Never read past the cap: the rented array may be larger than asked for.
                var room = Math.Min(buffer.Length, cap) - filled;
                if (room <= 0)
                {
                    throw new FastCgiException(FastCgiErrorKind.HeaderTooLarge, $"The FastCGI response header block exceeds {cap} bytes.");
                }

                var read = await ReadRecordsAsync(buffer.AsMemory(filled, room), token).ConfigureAwait(false);
                if (read == 0)
                {
                    throw new FastCgiException(FastCgiErrorKind.ProtocolError, "The FastCGI backend ended the request before completing the response header block.");
                }

                _responseSeen = true;
                filled += read;
                block.Scan(buffer.AsSpan(0, filled));
            }

            var head = CgiResponseHead.Parse(buffer.AsSpan(0, block.HeaderLength));
            var body = new FastCgiResponseBody(this, buffer, block.BodyStart, filled);
            return new FastCgiResponse(head.StatusCode, head.ReasonPhrase, head.Headers, body, this);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    private async ValueTask<int> ReadRecordsAsync(Memory<byte> destination, CancellationToken token)
    {
        if (_records!.IsEnded)
        {
            return 0;
        }

        _deadline.Arm(_options.ReadTimeout);
        var read = await _records!.ReadStdoutAsync(destination, token).ConfigureAwait(false);
        _deadline.Disarm();
        return read;
    }

    /// <summary>Reads body bytes; the caller's token is linked with the read timeout only when cancelable.</summary>
    public async ValueTask<int> ReadBodyAsync(Memory<byte> destination, CancellationToken cancellationToken)
    {
        if (_records!.IsEnded)
        {
            return 0;
        }

        try
        {
            if (!cancellationToken.CanBeCanceled)
            {
                return await ReadRecordsAsync(destination, _deadline.Token).ConfigureAwait(false);
            }

            using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _deadline.Token);
            return await ReadRecordsAsync(destination, linked.Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            var translated = ErrorTranslation.Translate(ex, _deadline, FastCgiErrorKind.ReadTimeout, cancellationToken, _pool.EndPoint);
            if (translated is not null)
            {
                throw translated;
            }

            throw;
        }
    }

    /// <summary>After FCGI_END_REQUEST: keep-alive connections go back to the pool, others are closed.</summary>
    public async ValueTask CompleteAsync()
    {
        if (Interlocked.Exchange(ref _released, 1) != 0)
        {
            return;
        }

        _deadline.Dispose();
        _connection.IsReusable = _options.KeepConnection && _records is { IsEnded: true };
        await _pool.ReturnAsync(_connection).ConfigureAwait(false);
    }

    /// <summary>Closes the connection unless it was already handed back.</summary>
    public async ValueTask AbortAsync()
    {
        if (Interlocked.Exchange(ref _released, 1) != 0)
        {
            return;
        }

        _deadline.Dispose();
        await _connection.DisposeAsync().ConfigureAwait(false);
    }
}
