using System.Buffers;
using Portico.FastCgi.Protocol;

namespace Portico.FastCgi.Client;

/// <summary>
/// The STDOUT bytes after the CGI header block, streamed. It gives the connection back to the pool the
/// moment FCGI_END_REQUEST is read; abandoned, failed or non-keep-alive connections are closed instead.
/// A backend that closes mid-body makes ReadAsync throw, never return a silent short body.
/// </summary>
internal sealed class FastCgiResponseBody : ForwardReadStream
{
    private readonly FastCgiExchange _exchange;
    private byte[]? _head;
    private int _headStart;
    private readonly int _headEnd;
    private Exception? _fault;
    private int _disposed;

    public FastCgiResponseBody(FastCgiExchange exchange, byte[] head, int headStart, int headEnd)
    {
        _exchange = exchange;
        _head = head;
        _headStart = headStart;
        _headEnd = headEnd;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        // The body bytes that came with the header block (all of a small response) are served without a state machine.
        if (_disposed == 0 && _fault is null && _head is not null && _headStart < _headEnd && !buffer.IsEmpty)
        {
            var n = Math.Min(buffer.Length, _headEnd - _headStart);
            _head.AsMemory(_headStart, n).CopyTo(buffer);
            _headStart += n;
            return new ValueTask<int>(n);
        }

        return ReadMoreAsync(buffer, cancellationToken);
    }

    private async ValueTask<int> ReadMoreAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        if (_fault is not null)
        {
            throw new FastCgiException(FastCgiErrorKind.BackendClosed, "The FastCGI response already failed.", _fault);
        }

        if (buffer.IsEmpty)
        {
            return 0;
        }

        if (_head is not null && _headStart < _headEnd)
        {
            var n = Math.Min(buffer.Length, _headEnd - _headStart);
            _head.AsMemory(_headStart, n).CopyTo(buffer);
            _headStart += n;
            return n;
        }

        ReleaseHead();
        try
        {
            var read = await _exchange.ReadBodyAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                await _exchange.CompleteAsync().ConfigureAwait(false);
            }

            return read;
        }
        catch (Exception ex)
        {
            _fault = ex;
            await _exchange.AbortAsync().ConfigureAwait(false);
            throw;
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) =>
        ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();

    public override ValueTask DisposeAsync()
    {
        // Usually the connection went back to the pool when the body ended: nothing left to wait for.
        var releasing = ReleaseAsync();
        if (releasing.IsCompletedSuccessfully)
        {
            releasing.GetAwaiter().GetResult();
            return base.DisposeAsync();
        }

        return DisposeAfterAsync(releasing);
    }

    private async ValueTask DisposeAfterAsync(ValueTask releasing)
    {
        await releasing.ConfigureAwait(false);
        await base.DisposeAsync().ConfigureAwait(false);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            ReleaseAsync().AsTask().GetAwaiter().GetResult();
        }

        base.Dispose(disposing);
    }

    private ValueTask ReleaseAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return default;
        }

        ReleaseHead();

        // If FCGI_END_REQUEST was already read (a small response arrives whole with its header), the
        // connection is at a record boundary and may be pooled even though the caller skipped the body.
        // Otherwise it is mid-stream and must be closed, never pooled. Both are no-ops once released.
        return _fault is null && _exchange.IsEnded ? _exchange.CompleteAsync() : _exchange.AbortAsync();
    }

    private void ReleaseHead()
    {
        var head = Interlocked.Exchange(ref _head, null);
        if (head is not null)
        {
            ArrayPool<byte>.Shared.Return(head);
        }
    }
}
