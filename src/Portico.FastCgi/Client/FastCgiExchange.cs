using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using Portico.FastCgi.Protocol;
using Portico.FastCgi.Response;

namespace Portico.FastCgi.Client;

/// <summary>
/// One request/response on one connection: writes BEGIN_REQUEST, PARAMS and STDIN, reads the CGI header
/// block, then serves the body. Owns the connection until it is handed back to the pool or closed.
/// The request body is sent while the response is already being read, as nginx does: an application
/// that writes a large response before draining STDIN would otherwise deadlock both sides.
/// </summary>
internal sealed class FastCgiExchange : IReadWaitGuard
{
    private const ushort RequestId = FastCgiConstants.DefaultRequestId;
    private const int InitialHeadBuffer = 16 * 1024;

    private readonly FastCgiConnectionPool _pool;
    private readonly FastCgiClientOptions _options;

    // Set once, by the constructor or by RunAsync when the exchange had to wait for a connection (Attach).
    private FastCgiConnection _connection = null!;
    private IoDeadline _sendDeadline = null!;
    private IoDeadline _readDeadline = null!;
    private Lock _timerLock = null!;

    // The connection came from the pool: if it turns out to have been closed while idle, the request is retried once.
    private bool _reused;

    // The caller's token cancels the connection's I/O (one registration per exchange, not a linked source per call).
    private CancellationToken _callerToken;
    private CancellationTokenRegistration _callerRegistration;
    private ResponseRecordReader? _records;
    private Task _send = Task.CompletedTask;
    private Exception? _sendError;
    private bool _sendDone;
    private bool _readInFlight;
    private int _released;
    private bool _bodyTouched;
    private bool _responseSeen;

    public FastCgiExchange(FastCgiConnectionPool pool, FastCgiConnection connection, FastCgiClientOptions options, bool reused = false)
        : this(pool, options)
    {
        Attach(connection, reused);
    }

    /// <summary>An exchange whose connection <see cref="RunAsync"/> takes first: one handed back by another request,
    /// or a new one.</summary>
    public FastCgiExchange(FastCgiConnectionPool pool, FastCgiClientOptions options)
    {
        _pool = pool;
        _options = options;
    }

    public EndRequest? EndRequest => _records?.EndRequest;

    public bool IsEnded => _records is { IsEnded: true };

    /// <summary>
    /// True when the exchange failed in a way that is safe to repeat on a new connection: nothing of the
    /// request body was consumed and no response byte arrived. This covers the race where a kept-alive
    /// connection was closed by the backend (e.g. php-fpm pm.max_requests) just as it was taken from the pool.
    /// </summary>
    public bool FailedBeforeAnyExchange => !_bodyTouched && !_responseSeen;

    /// <summary>The exchange, its failure thrown as a <see cref="FastCgiException"/>.</summary>
    public async Task<FastCgiResponse> RunAsync(FastCgiRequest request, CancellationToken cancellationToken)
    {
        var result = await TryRunAsync(request, cancellationToken).ConfigureAwait(false);
        return result.Response ?? throw result.Failure!;
    }

    /// <summary>
    /// The exchange, its failure (a refused connect, a timeout, a backend that closed, a response that is no FastCGI)
    /// returned rather than thrown: a backend that is down fails every request, and each would otherwise pay for an
    /// exception through every async frame up to the 502. A failure of the caller's body stream and the caller's
    /// cancellation still throw, as the caller's own.
    /// </summary>
    public async Task<FastCgiResult> TryRunAsync(FastCgiRequest request, CancellationToken cancellationToken)
    {
        if (_connection is null)
        {
            // Taken here rather than by a caller's frame around this one: when the response comes, two async
            // frames resume (this one and the caller's), not three.
            var (connection, reused, failure) = await TakeConnectionAsync(cancellationToken).ConfigureAwait(false);
            if (connection is null)
            {
                return new FastCgiResult(failure!);
            }

            Attach(connection, reused);
        }

        if (cancellationToken.IsCancellationRequested)
        {
            // The caller gave up while it waited for this connection (a hand-off, a connect). Nothing was sent: the
            // connection goes back as it came, and the request never reaches the backend. (Checked here because
            // a send that fits the socket buffer, and a response already there, complete without a look at it.)
            Interlocked.Exchange(ref _released, 1);
            await _pool.ReturnAsync(_connection).ConfigureAwait(false);
            throw new OperationCanceledException(cancellationToken);
        }

        var io = _connection.IoToken;
        _callerToken = cancellationToken;
        _callerRegistration = cancellationToken.UnsafeRegister(static state => ((FastCgiConnection)state!).CancelIo(), _connection);
        var phase = FastCgiErrorKind.SendTimeout;
        byte[]? head = null;
        try
        {
            _connection.RequestCount++;
            _connection.SocketReader.ResponseExpected();
            var writer = _connection.Writer;
            RecordWriter.WriteBeginRequest(writer, RequestId, _options.KeepConnection);
            RecordWriter.WriteParams(writer, RequestId, request.ParamBlock is { } block ? block.Encoded.Span : default, request.ParamsOrEmpty);
            if (request.Body is null && request.BodyReader is null)
            {
                // Empty STDIN ends the body stream even when there is no body (spec section 3.3, 6.2).
                RecordWriter.WriteEndOfStream(writer, FastCgiRecordType.Stdin, RequestId);
                await FlushAsync(io).ConfigureAwait(false);
                MarkSendDone();
            }
            else
            {
                await FlushAsync(io).ConfigureAwait(false);
                _bodyTouched = true;
                _send = SendBodyAsync(request, cancellationToken);
            }

            phase = FastCgiErrorKind.ReadTimeout;
            _records = new ResponseRecordReader(_connection.Reader, RequestId, request.StderrLine, this, _options.CatchStderrUtf8);

            // The CGI header block, read here rather than in a method of its own: when the response arrives,
            // one async frame fewer is resumed on its way to the caller.
            var cap = _options.MaxResponseHeaderBytes;
            head = ArrayPool<byte>.Shared.Rent(Math.Min(cap, InitialHeadBuffer));
            var filled = 0;
            var headerBlock = new CgiHeaderBlock();
            while (!headerBlock.IsComplete)
            {
                var room = HeadRoom(ref head, filled, cap);
                int read;
                while (!_records.TryReadReceivedStdout(head.AsSpan(filled, room), out read))
                {
                    // The socket's own wait, timed as a read (nginx's fastcgi_read_timeout runs between two reads).
                    var guard = (IReadWaitGuard)this;
                    guard.BeforeWait();
                    try
                    {
                        var socket = _connection.SocketReader;
                        socket.Received(await socket.ReceiveIntoBufferAsync(io).ConfigureAwait(false));
                    }
                    finally
                    {
                        guard.AfterWait();
                    }
                }

                _responseSeen |= read > 0;
                filled += read;
                if (read > 0)
                {
                    headerBlock.Scan(head.AsSpan(0, filled));
                }

                // fastcgi_catch_stderr: a caught string that came before the header's end makes the response invalid
                // (nginx checks it while processing the header, and logs nothing more than the STDERR line).
                if (_records.CaughtStderr is { } caught && (!headerBlock.IsComplete || caught.StdoutOffset < headerBlock.BodyStart))
                {
                    _records.FlushStderr();
                    throw new FastCgiException(FastCgiErrorKind.StderrCaught, $"The FastCGI backend's stderr contains \"{caught.Text}\" before the end of the response header.");
                }

                if (read == 0)
                {
                    throw new FastCgiException(FastCgiErrorKind.ProtocolError, "The FastCGI backend ended the request before completing the response header block.");
                }
            }

            _records.StopCatchingStderr();
            var parsed = CgiResponseHead.Parse(head.AsSpan(0, headerBlock.HeaderLength));
            var body = new FastCgiResponseBody(this, head, headerBlock.BodyStart, filled);
            head = null; // the body owns it now
            _pool.FirstResponseSeen(_connection);
            return new FastCgiResult(new FastCgiResponse(parsed.StatusCode, parsed.ReasonPhrase, parsed.Headers, body, this));
        }
        catch (Exception ex)
        {
            if (head is not null)
            {
                ArrayPool<byte>.Shared.Return(head);
            }

            _pool.FirstResponseSeen(_connection);
            if (ex is OperationCanceledException && _sendError is null && _sendDeadline.Expired && !_send.IsCompleted)
            {
                // The send timeout cancelled both directions and the reader woke first: let the upload unwind (it
                // was cut in a write, so it stops at once, and never faults) to report the send timeout, not a cancel.
                await _send.ConfigureAwait(false);
            }

            await AbortAsync().ConfigureAwait(false);
            if (_sendError is not null)
            {
                throw SendFailure();
            }

            var translated = ErrorTranslation.Translate(ex, phase == FastCgiErrorKind.SendTimeout ? _sendDeadline : _readDeadline, phase, cancellationToken, _pool.EndPoint);
            if ((translated ?? ex) is FastCgiException { Kind: FastCgiErrorKind.BackendClosed } && _reused && FailedBeforeAnyExchange)
            {
                // A pooled connection died while idle and the request was not consumed: retry once on a fresh
                // connection, as nginx retries a cached keepalive connection that turned out to be closed.
                var (fresh, refused) = await _pool.TryRentNewAsync(_options.ConnectTimeout, cancellationToken, _options.SocketKeepAlive).ConfigureAwait(false);
                return fresh is null
                    ? new FastCgiResult(refused!)
                    : await new FastCgiExchange(_pool, fresh, _options).TryRunAsync(request, cancellationToken).ConfigureAwait(false);
            }

            if ((translated ?? ex) is FastCgiException failure)
            {
                return new FastCgiResult(failure);
            }

            if (ex is OperationCanceledException && cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException(ex.Message, ex, cancellationToken);
            }

            throw;
        }
    }

    [MemberNotNull(nameof(_connection), nameof(_sendDeadline), nameof(_readDeadline), nameof(_timerLock))]
    private void Attach(FastCgiConnection connection, bool reused)
    {
        _connection = connection;
        _reused = reused;
        _sendDeadline = connection.SendDeadline;
        _readDeadline = connection.ReadDeadline;
        _timerLock = connection.TimerLock;
    }

    /// <summary>Waits for a connection another request hands back (see FastCgiConnectionPool.TryWaitForHandOff), or
    /// opens one.</summary>
    private async ValueTask<(FastCgiConnection? Connection, bool Reused, FastCgiException? Failure)> TakeConnectionAsync(CancellationToken cancellationToken)
    {
        if (_pool.TryWaitForHandOff(cancellationToken) is { } handOff)
        {
            var handedOff = FastCgiConnectionPool.TakeHandedOff(await handOff.WaitAsync().ConfigureAwait(false));
            if (handedOff is not null)
            {
                return (handedOff, true, null);
            }
        }

        // A waiter cancelled while it waited is released to fail here, not to connect.
        cancellationToken.ThrowIfCancellationRequested();
        var (connection, failure) = await _pool.TryRentNewAsync(_options.ConnectTimeout, cancellationToken, _options.SocketKeepAlive).ConfigureAwait(false);
        return (connection, false, failure);
    }

    /// <summary>Streams STDIN and its empty terminator. Never faults: a failure is recorded and wakes the reader.</summary>
    private async Task SendBodyAsync(FastCgiRequest request, CancellationToken callerToken)
    {
        var io = _connection.IoToken;

        // Set while the caller's body stream is read: its failure (a client gone, a client too slow) is the
        // caller's to report as it is, not a failure of the backend's connection.
        var readingBody = false;
        try
        {
            await Task.Yield();
            if (request.Body is { } body)
            {
                // Read the body straight into the pipe's memory after a reserved header: no intermediate copy.
                const int chunk = FastCgiConstants.StdinChunkSize;
                while (true)
                {
                    var memory = _connection.Writer.GetMemory(FastCgiConstants.HeaderLength + chunk + FastCgiConstants.Alignment);
                    readingBody = true;
                    var read = await body.ReadAsync(memory.Slice(FastCgiConstants.HeaderLength, chunk), callerToken).ConfigureAwait(false);
                    readingBody = false;
                    if (read == 0)
                    {
                        break;
                    }

                    var header = RecordHeader.Create(FastCgiRecordType.Stdin, RequestId, read);
                    header.Write(memory.Span);
                    memory.Span.Slice(FastCgiConstants.HeaderLength + read, header.PaddingLength).Clear();
                    _connection.Writer.Advance(header.TotalLength);
                    await FlushAsync(io).ConfigureAwait(false);
                }
            }
            else if (request.BodyReader is { } pipe)
            {
                while (true)
                {
                    var result = await pipe.ReadAsync(callerToken).ConfigureAwait(false);
                    RecordWriter.WriteStream(_connection.Writer, FastCgiRecordType.Stdin, RequestId, result.Buffer);
                    pipe.AdvanceTo(result.Buffer.End);
                    await FlushAsync(io).ConfigureAwait(false);
                    if (result.IsCompleted || result.IsCanceled)
                    {
                        break;
                    }
                }
            }

            RecordWriter.WriteEndOfStream(_connection.Writer, FastCgiRecordType.Stdin, RequestId);
            await FlushAsync(io).ConfigureAwait(false);
            MarkSendDone();
        }
        catch (Exception ex)
        {
            if (Volatile.Read(ref _released) != 0)
            {
                return; // the exchange already ended (error or early response); this failure is a consequence
            }

            _sendError = readingBody && ex is not OperationCanceledException
                ? ex
                : ErrorTranslation.Translate(ex, _sendDeadline, FastCgiErrorKind.SendTimeout, callerToken, _pool.EndPoint) ?? ex;

            // Wake the response reader: the failure surfaces at once instead of as a read timeout.
            _connection.CancelIo();
        }
    }

    private void MarkSendDone()
    {
        lock (_timerLock)
        {
            _sendDone = true;

            // The read timeout counts from the end of the request (nginx arms fastcgi_read_timeout once the
            // request is sent), so a slow upload is not mistaken for a silent backend.
            if (_readInFlight)
            {
                _readDeadline.Arm(_options.ReadTimeout);
            }
        }
    }

    /// <summary>Rethrows the upload's failure with its original type and stack (e.g. the client's body stream).</summary>
    private Exception SendFailure()
    {
        System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(_sendError!);
        return _sendError!;
    }

    private async ValueTask FlushAsync(CancellationToken token)
    {
        _sendDeadline.Arm(_options.SendTimeout);
        var result = await _connection.Writer.FlushAsync(token).ConfigureAwait(false);
        _sendDeadline.Disarm();
        if (result.IsCanceled)
        {
            throw new OperationCanceledException(token);
        }
    }

    /// <summary>Room left in the head buffer, grown (up to <paramref name="cap"/>) when it is full.</summary>
    private static int HeadRoom(ref byte[] buffer, int filled, int cap)
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

        return room;
    }

    /// <summary>Reads the next STDOUT bytes (0 once FCGI_END_REQUEST was read).</summary>
    private ValueTask<int> ReadRecordsAsync(Memory<byte> destination, CancellationToken token) =>
        _records!.IsEnded ? ValueTask.FromResult(0) : _records.ReadStdoutAsync(destination, token);

    /// <summary>The read timeout runs only while the reader waits on the socket (nginx: "between two successive
    /// read operations"), and only once the whole request was sent.</summary>
    void IReadWaitGuard.BeforeWait()
    {
        lock (_timerLock)
        {
            _readInFlight = true;
            if (_sendDone)
            {
                _readDeadline.Arm(_options.ReadTimeout);
            }
        }
    }

    void IReadWaitGuard.AfterWait()
    {
        lock (_timerLock)
        {
            _readInFlight = false;
            _readDeadline.Disarm();
        }
    }

    /// <summary>Reads body bytes; the caller's token is linked with the read timeout and send failure.</summary>
    public ValueTask<int> ReadBodyAsync(Memory<byte> destination, CancellationToken cancellationToken) =>
        // Ended (a small response came whole with its head): no state machine for the final 0.
        _records!.IsEnded ? new ValueTask<int>(0) : ReadMoreBodyAsync(destination, cancellationToken);

    private async ValueTask<int> ReadMoreBodyAsync(Memory<byte> destination, CancellationToken cancellationToken)
    {
        // The token given to SendAsync is already wired to the connection; another one is wired for this read only.
        var extra = cancellationToken.CanBeCanceled && cancellationToken != _callerToken
            ? cancellationToken.UnsafeRegister(static state => ((FastCgiConnection)state!).CancelIo(), _connection)
            : default;
        try
        {
            return await ReadRecordsAsync(destination, _connection.IoToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            if (_sendError is not null)
            {
                throw SendFailure();
            }

            var translated = ErrorTranslation.Translate(ex, _readDeadline, FastCgiErrorKind.ReadTimeout, cancellationToken, _pool.EndPoint);
            if (translated is not null)
            {
                throw translated;
            }

            if (ex is OperationCanceledException && cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException(ex.Message, ex, cancellationToken);
            }

            throw;
        }
        finally
        {
            extra.Dispose();
        }
    }

    /// <summary>
    /// After FCGI_END_REQUEST: a keep-alive connection goes back to the pool, but only if the whole request
    /// was sent too; if the application ended before taking all of STDIN, the rest would be read as the next
    /// request, so the connection is closed.
    /// </summary>
    public ValueTask CompleteAsync()
    {
        bool sendDone;
        lock (_timerLock)
        {
            sendDone = _sendDone;
        }

        if (!sendDone)
        {
            return AbortAsync();
        }

        if (Interlocked.Exchange(ref _released, 1) != 0)
        {
            return default;
        }

        DisposeTimers();
        _connection.IsReusable = _options.KeepConnection && _records is { IsEnded: true } && !_connection.IoCancelled;
        return _pool.ReturnAsync(_connection);
    }

    /// <summary>Closes the connection unless it was already handed back.</summary>
    public async ValueTask AbortAsync()
    {
        if (Interlocked.Exchange(ref _released, 1) != 0)
        {
            return;
        }

        if (_send.IsCompleted)
        {
            DisposeTimers();
            await _connection.DisposeAsync().ConfigureAwait(false);
            _pool.ReplaceLost();
            return;
        }

        // The upload may be parked in the caller's body stream holding pipe memory, so the pipe must not be
        // completed (its buffers would return to the pool while still in use). Cut the socket now, which
        // fails the upload's next write, and release the rest once the upload has stopped.
        _connection.CloseSocket();
        _pool.ReplaceLost();
        _ = _send.ContinueWith(
            static (_, state) =>
            {
                var exchange = (FastCgiExchange)state!;
                exchange.DisposeTimers();
                return exchange._connection.DisposeAsync().AsTask();
            },
            this,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default).Unwrap();
    }

    /// <summary>Ends the exchange's hold on the connection's timers and the caller's token; the deadlines belong
    /// to the connection and stay for its next exchange.</summary>
    private void DisposeTimers()
    {
        _callerRegistration.Dispose();
        lock (_timerLock)
        {
            _sendDeadline.Disarm();
            _readDeadline.Disarm();
        }
    }
}
