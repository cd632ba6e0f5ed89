using System.Buffers;
using System.IO.Pipelines;

namespace Portico.FastCgi.Client;

/// <summary>
/// A <see cref="PipeReader"/> straight over a socket with one contiguous buffer. A FastCGI response is read
/// record by record by one consumer that copies STDOUT out at once, so the unread bytes stay small; the general
/// StreamPipeReader over a NetworkStream costs two more layers and a segment list per read, which on a proxied
/// hello-world is a visible share of the request. Not thread-safe: one reader, as PipeReader's contract says.
/// </summary>
internal sealed class SocketPipeReader : PipeReader
{
    private const int MaxBuffer = 1024 * 1024;

    private readonly FastCgiSocket _socket;
    private byte[] _buffer;
    private int _start;
    private int _end;
    private bool _examinedAll;
    private bool _endOfStream;
    private bool _completed;

    // A receive was made since the request went out: the response has begun, and a wait now may be for a write the
    // backend holds back until it sees an acknowledgement (FastCgiSocket.AcknowledgeNow).
    private bool _responseBegun;

    public SocketPipeReader(FastCgiSocket socket, int bufferSize)
    {
        _socket = socket;
        _buffer = ArrayPool<byte>.Shared.Rent(bufferSize);
    }

    public override bool TryRead(out ReadResult result)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        if ((_end > _start && !_examinedAll) || _endOfStream)
        {
            result = Result();
            return true;
        }

        result = default;
        return false;
    }

    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        if ((_end > _start && !_examinedAll) || _endOfStream)
        {
            return new ValueTask<ReadResult>(Result());
        }

        return ReceiveAsync(cancellationToken);
    }

    private async ValueTask<ReadResult> ReceiveAsync(CancellationToken cancellationToken)
    {
        Received(await ReceiveIntoBufferAsync(cancellationToken).ConfigureAwait(false));
        return Result();
    }

    /// <summary>
    /// Receives into the free end of the buffer and returns the socket's own task, so that a caller that awaits
    /// it directly (the record reader) resumes straight from the socket's completion, without the extra async
    /// frame of ReadAsync. Pass the count to <see cref="Received"/>, then TryRead.
    /// </summary>
    internal ValueTask<int> ReceiveIntoBufferAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        MakeRoom();
        var receiving = _socket.ReceiveAsync(_buffer.AsMemory(_end), cancellationToken);
        if (_responseBegun && !receiving.IsCompleted)
        {
            // Waiting in the middle of a response: acknowledge what came, so a backend with Nagle's algorithm on
            // sends the rest now. The first wait of a response, the only one for a small response, costs nothing.
            _socket.AcknowledgeNow();
        }

        _responseBegun = true;
        return receiving;
    }

    /// <summary>A request goes out: the next receive is the first of its response.</summary>
    internal void ResponseExpected() => _responseBegun = false;

    /// <summary>Takes in the bytes a <see cref="ReceiveIntoBufferAsync"/> read (0: the backend closed its side).</summary>
    internal void Received(int read)
    {
        if (read == 0)
        {
            _endOfStream = true;
        }

        _end += read;
        _examinedAll = false;
    }

    /// <summary>Moves unread bytes to the front, or grows the buffer when they fill it (bounded).</summary>
    private void MakeRoom()
    {
        if (_end < _buffer.Length)
        {
            return;
        }

        var unread = _end - _start;
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, unread);
        }
        else
        {
            if (_buffer.Length >= MaxBuffer)
            {
                throw new InvalidOperationException("The FastCGI read buffer is full without the reader consuming it.");
            }

            var bigger = ArrayPool<byte>.Shared.Rent(_buffer.Length * 2);
            Buffer.BlockCopy(_buffer, 0, bigger, 0, unread);
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = bigger;
        }

        _start = 0;
        _end = unread;
    }

    private ReadResult Result() =>
        new(new ReadOnlySequence<byte>(_buffer, _start, _end - _start), isCanceled: false, isCompleted: _endOfStream);

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        // Positions of a single-array sequence carry the array index.
        var consumedIndex = consumed.GetInteger();
        var examinedIndex = examined.GetInteger();
        if (consumedIndex < _start || consumedIndex > _end || examinedIndex < consumedIndex || examinedIndex > _end)
        {
            throw new InvalidOperationException("AdvanceTo was given a position outside the last read buffer.");
        }

        _start = consumedIndex;
        _examinedAll = examinedIndex == _end;
        if (_start == _end)
        {
            _start = _end = 0;
            _examinedAll = false;
        }
    }

    /// <summary>Not supported: cancel the token given to ReadAsync instead (the connection's I/O token).</summary>
    public override void CancelPendingRead() => throw new NotSupportedException();

    public override void Complete(Exception? exception = null)
    {
        if (_completed)
        {
            return;
        }

        _completed = true;
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
        _start = _end = 0;
    }
}
