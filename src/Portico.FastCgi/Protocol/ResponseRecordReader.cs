using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Runtime.CompilerServices;

namespace Portico.FastCgi.Protocol;

/// <summary>
/// Reads the records a responder sends back (STDOUT, STDERR, END_REQUEST) as a state machine over a
/// <see cref="PipeReader"/>, so records may arrive split at any byte boundary. STDOUT content is copied
/// straight from the pipe into the caller's buffer; a whole record is never buffered.
/// </summary>
internal sealed class ResponseRecordReader
{
    private readonly PipeReader _reader;
    private readonly ushort _requestId;
    private readonly Action<string>? _onStderrLine;
    private byte[][] _catchStderr;
    private long _stdoutDelivered;
    private StderrLineSplitter? _stderr; // made on the first STDERR bytes: most responses have none
    private readonly IReadWaitGuard? _waitGuard;

    private State _state = State.Header;
    private RecordHeader _current;
    private int _contentRemaining;
    private int _paddingRemaining;

    public ResponseRecordReader(PipeReader reader, ushort requestId, Action<string>? onStderrLine, IReadWaitGuard? waitGuard = null, byte[][]? catchStderr = null)
    {
        _catchStderr = catchStderr ?? [];
        _reader = reader;
        _requestId = requestId;
        _onStderrLine = onStderrLine;
        _waitGuard = waitGuard;
    }

    private enum State
    {
        Header,
        Content,
        Padding,
        Ended,
    }

    /// <summary>Set once FCGI_END_REQUEST has been read with all its padding.</summary>
    public EndRequest? EndRequest { get; private set; }

    public bool IsEnded => _state == State.Ended;

    /// <summary>Copies the next STDOUT bytes into <paramref name="destination"/>, handling any other records
    /// on the way. Returns 0 once FCGI_END_REQUEST has been read.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))] // a pooled box: one wait per response at least
    public async ValueTask<int> ReadStdoutAsync(Memory<byte> destination, CancellationToken cancellationToken)
    {
        // 0 means "ended", so an empty destination would be ambiguous (and could spin).
        ArgumentOutOfRangeException.ThrowIfZero(destination.Length);
        // Some readers (Pipe) hand back already-examined bytes from TryRead; after "need more" always wait.
        var mustWait = false;
        while (_state != State.Ended)
        {
            if (mustWait || !_reader.TryRead(out var result))
            {
                // Only a real wait on the backend is timed.
                _waitGuard?.BeforeWait();
                try
                {
                    if (_reader is Client.SocketPipeReader socketReader)
                    {
                        // Awaiting the socket itself: on a response's arrival this frame resumes first, not a
                        // reader's frame that then resumes this one (the pass's hottest wait).
                        socketReader.Received(await socketReader.ReceiveIntoBufferAsync(cancellationToken).ConfigureAwait(false));
                        socketReader.TryRead(out result);
                    }
                    else
                    {
                        result = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
                    }
                }
                finally
                {
                    _waitGuard?.AfterWait();
                }
            }

            if (Consume(result, destination.Span, out var copied, out var needMore))
            {
                return copied;
            }

            mustWait = needMore;
        }

        return 0;
    }

    /// <summary>
    /// For a reader over a socket: serves STDOUT from the bytes already received, without waiting. True with the
    /// count (0 once FCGI_END_REQUEST was read); false when the backend must send more first: the caller then
    /// waits on the socket itself (<see cref="Client.SocketPipeReader.ReceiveIntoBufferAsync"/>) and calls again,
    /// which spares the async frame of <see cref="ReadStdoutAsync"/> on the response's arrival.
    /// </summary>
    internal bool TryReadReceivedStdout(Span<byte> destination, out int copied)
    {
        ArgumentOutOfRangeException.ThrowIfZero(destination.Length);
        copied = 0;

        // A SocketPipeReader's TryRead answers false once everything it holds was examined: no "must wait" flag.
        while (_state != State.Ended)
        {
            if (!_reader.TryRead(out var result))
            {
                return false;
            }

            if (Consume(result, destination, out copied, out _))
            {
                return true;
            }
        }

        return true;
    }

    /// <summary>Processes one read's bytes and advances the reader. True when the caller is answered: STDOUT was
    /// copied, or the request ended. Throws when the backend closed or the read was cancelled first.</summary>
    private bool Consume(in ReadResult result, Span<byte> destination, out int copied, out bool needMore)
    {
        var buffer = result.Buffer;
        needMore = false;
        try
        {
            copied = Process(ref buffer, destination, out needMore);
        }
        finally
        {
            // Mark the rest as examined only when it cannot be used without more bytes; if we stopped
            // because the destination is full, the buffered rest must be served without waiting.
            if (needMore)
            {
                _reader.AdvanceTo(buffer.Start, buffer.End);
            }
            else
            {
                _reader.AdvanceTo(buffer.Start);
            }
        }

        if (copied > 0 || _state == State.Ended)
        {
            return true;
        }

        if (result.IsCompleted)
        {
            throw new FastCgiException(FastCgiErrorKind.BackendClosed, "The FastCGI backend closed the connection before FCGI_END_REQUEST.");
        }

        if (result.IsCanceled)
        {
            throw new OperationCanceledException("The FastCGI read was canceled.");
        }

        return false;
    }

    private int Process(ref ReadOnlySequence<byte> buffer, Span<byte> destination, out bool needMore)
    {
        var copied = 0;
        needMore = false;
        while (true)
        {
            switch (_state)
            {
                case State.Header:
                    if (!RecordHeader.TryRead(buffer, out _current))
                    {
                        needMore = true;
                        return copied;
                    }

                    ValidateHeader(_current);
                    buffer = buffer.Slice(FastCgiConstants.HeaderLength);
                    _contentRemaining = _current.ContentLength;
                    _paddingRemaining = _current.PaddingLength;
                    _state = State.Content;
                    break;

                case State.Content:
                    if (_current.Type == FastCgiRecordType.EndRequest && _current.RequestId == _requestId)
                    {
                        // Small fixed body: wait until content and padding are all here, then finish atomically
                        // so a kept-alive connection is left exactly at the next record boundary.
                        var total = _contentRemaining + _paddingRemaining;
                        if (buffer.Length < total)
                        {
                            needMore = true;
                            return copied;
                        }

                        EndRequest = ParseEndRequest(buffer.Slice(0, _contentRemaining));
                        buffer = buffer.Slice(total);
                        _stderr?.Flush();
                        _state = State.Ended;
                        return copied;
                    }

                    if (_contentRemaining == 0)
                    {
                        _state = State.Padding;
                        break;
                    }

                    if (buffer.IsEmpty)
                    {
                        needMore = true;
                        return copied;
                    }

                    // Only our request's streams carry data; management records (id 0) of any type are skipped.
                    var ours = _current.RequestId == _requestId;
                    if (ours && _current.Type == FastCgiRecordType.Stdout)
                    {
                        var room = destination.Length - copied;
                        if (room == 0)
                        {
                            return copied;
                        }

                        var n = (int)Math.Min(Math.Min(_contentRemaining, buffer.Length), room);
                        buffer.Slice(0, n).CopyTo(destination[copied..]);
                        copied += n;
                        _stdoutDelivered += n;
                        buffer = buffer.Slice(n);
                        _contentRemaining -= n;
                    }
                    else
                    {
                        var n = (int)Math.Min(_contentRemaining, buffer.Length);
                        if (ours && _current.Type == FastCgiRecordType.Stderr)
                        {
                            var chunk = buffer.Slice(0, n);
                            if (_onStderrLine is not null)
                            {
                                (_stderr ??= new StderrLineSplitter(_onStderrLine)).Append(chunk);
                            }

                            if (_catchStderr.Length > 0 && CaughtStderr is null && Find(chunk) is { } caught)
                            {
                                // Where it came in the STDOUT stream decides whether it counts (before the header's end).
                                CaughtStderr = new(caught, _stdoutDelivered);
                            }
                        }

                        // Management records and unknown types are skipped (spec section 4.2: a client
                        // must tolerate record types it does not understand).
                        buffer = buffer.Slice(n);
                        _contentRemaining -= n;
                    }

                    break;

                case State.Padding:
                    var skip = (int)Math.Min(_paddingRemaining, buffer.Length);
                    buffer = buffer.Slice(skip);
                    _paddingRemaining -= skip;
                    if (_paddingRemaining > 0)
                    {
                        needMore = true;
                        return copied;
                    }

                    _state = State.Header;
                    break;

                default:
                    return copied;
            }
        }
    }

    /// <summary>The first caught string of STDERR (see <see cref="Client.FastCgiClientOptions.CatchStderr"/>), with the
    /// count of STDOUT bytes delivered before it: it counts only if the header block had not ended there.</summary>
    public StderrCatch? CaughtStderr { get; private set; }

    /// <summary>The header block is complete: from here on STDERR is only logged, as nginx's input filter does
    /// (fastcgi_catch_stderr is checked while the header is processed).</summary>
    public void StopCatchingStderr() => _catchStderr = [];

    /// <summary>Logs a last STDERR line that has no newline yet (before the response fails on it).</summary>
    public void FlushStderr() => _stderr?.Flush();

    /// <summary>The first string of <see cref="_catchStderr"/> in <paramref name="chunk"/>, or null.</summary>
    private string? Find(ReadOnlySequence<byte> chunk)
    {
        var bytes = chunk.IsSingleSegment ? chunk.FirstSpan : chunk.ToArray();
        foreach (var pattern in _catchStderr)
        {
            if (bytes.IndexOf(pattern) >= 0)
            {
                return System.Text.Encoding.UTF8.GetString(pattern);
            }
        }

        return null;
    }

    private void ValidateHeader(in RecordHeader header)
    {
        if (header.Version != FastCgiConstants.Version1)
        {
            throw new FastCgiException(FastCgiErrorKind.ProtocolError, $"The FastCGI backend sent a record with version {header.Version}; only version 1 exists.");
        }

        // Management records (requestId 0, spec section 3.3) are allowed and ignored; any other id on a
        // non-multiplexed connection means the backend is confused about what it is answering.
        if (header.RequestId != _requestId && header.RequestId != 0)
        {
            throw new FastCgiException(FastCgiErrorKind.ProtocolError, $"The FastCGI backend sent a {header.Type} record for request id {header.RequestId}, expected {_requestId}.");
        }

        if (header.Type == FastCgiRecordType.EndRequest && header.RequestId == _requestId && header.ContentLength < 8)
        {
            throw new FastCgiException(FastCgiErrorKind.ProtocolError, $"FCGI_END_REQUEST has {header.ContentLength} content bytes; the spec requires 8.");
        }
    }

    private static EndRequest ParseEndRequest(ReadOnlySequence<byte> content)
    {
        Span<byte> body = stackalloc byte[8];
        content.Slice(0, 8).CopyTo(body);
        var status = new EndRequest(BinaryPrimitives.ReadInt32BigEndian(body), (FastCgiProtocolStatus)body[4]);
        if (status.ProtocolStatus != FastCgiProtocolStatus.RequestComplete)
        {
            throw new FastCgiException(FastCgiErrorKind.RequestRejected, $"The FastCGI backend ended the request with protocol status {status.ProtocolStatus}.")
            {
                ProtocolStatus = status.ProtocolStatus,
            };
        }

        return status;
    }
}

/// <summary>A string of fastcgi_catch_stderr found in STDERR after <paramref name="StdoutOffset"/> bytes of STDOUT.</summary>
internal sealed record StderrCatch(string Text, long StdoutOffset);
