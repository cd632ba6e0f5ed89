using System.Buffers;
using System.IO.Pipelines;

namespace Portico.FastCgi.Client;

/// <summary>
/// A <see cref="PipeWriter"/> straight over a socket: records are framed into one contiguous buffer and each
/// flush is one send() (a bodiless request: BEGIN_REQUEST, PARAMS and the empty STDIN in a single write).
/// The buffer grows to the largest flush asked for (a 32 KB STDIN record plus its header) and goes back to
/// the array pool when the connection ends. One writer at a time, as PipeWriter's contract says.
/// </summary>
internal sealed class SocketPipeWriter : PipeWriter
{
    private readonly FastCgiSocket _socket;
    private byte[] _buffer;
    private int _written;
    private bool _completed;

    public SocketPipeWriter(FastCgiSocket socket, int bufferSize)
    {
        _socket = socket;
        _buffer = ArrayPool<byte>.Shared.Rent(bufferSize);
    }

    public override void Advance(int bytes)
    {
        if (bytes < 0 || _written + bytes > _buffer.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(bytes));
        }

        _written += bytes;
    }

    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public override Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_written);
    }

    private void Ensure(int sizeHint)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        var needed = _written + Math.Max(sizeHint, 1);
        if (needed <= _buffer.Length)
        {
            return;
        }

        var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, _buffer.Length * 2));
        Buffer.BlockCopy(_buffer, 0, bigger, 0, _written);
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = bigger;
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        if (_written == 0)
        {
            return new ValueTask<FlushResult>(new FlushResult(isCanceled: false, isCompleted: false));
        }

        return SendAsync(cancellationToken);
    }

    private async ValueTask<FlushResult> SendAsync(CancellationToken cancellationToken)
    {
        var sent = 0;
        try
        {
            while (sent < _written)
            {
                sent += await _socket.SendAsync(_buffer.AsMemory(sent, _written - sent), cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            // What was sent is gone; on a failure the connection is finished anyway.
            _written = 0;
        }

        return new FlushResult(isCanceled: false, isCompleted: false);
    }

    /// <summary>Not supported: cancel the token given to FlushAsync instead (the connection's I/O token).</summary>
    public override void CancelPendingFlush() => throw new NotSupportedException();

    public override void Complete(Exception? exception = null)
    {
        if (_completed)
        {
            return;
        }

        _completed = true;
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
        _written = 0;
    }
}
