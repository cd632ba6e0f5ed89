using System.Buffers;
using System.Diagnostics;
using System.IO.Compression;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Http.Features;

namespace Portico.Server.Compression;

/// <summary>
/// The response body as the handlers write it, compressed when the gzip header filter chose to (ngx_http_gzip_filter).
/// Nothing is handed out before that choice: the first write, flush or start starts the response, which runs the
/// header work (<see cref="Phases.ResponseHeaders"/>, the gzip filter last) and so settles the mode. In plain mode
/// every call goes straight to the response's pipe; in gzip mode writes go through a deflater, a flush is a
/// Z_SYNC_FLUSH followed by the pipe's flush (what nginx does for a flush buffer, so scripts that flush() still
/// stream), and the end writes the trailer.
/// </summary>
internal sealed class GzipBodyWriter : PipeWriter, IDisposable
{
    private const int MinimumInput = 4096;

    private readonly IHttpResponseBodyFeature _inner;
    private Mode _mode;
    private GZipStream? _deflater;
    private GzipSink? _sink;
    private byte[]? _input;
    private bool _finished;

    private readonly bool _headerOnly;

    /// <param name="headerOnly">A HEAD request: the response's head is settled at the end as for a GET, and no gzip
    /// bytes are written.</param>
    public GzipBodyWriter(IHttpResponseBodyFeature inner, bool headerOnly)
    {
        _inner = inner;
        _headerOnly = headerOnly;
    }

    private enum Mode
    {
        Undecided,
        Plain,
        Gzip,
    }

    /// <summary>True until the body's first byte: only then can the filter still choose gzip.</summary>
    public bool CanCompress => _mode == Mode.Undecided && !_finished;

    /// <summary>The response is being compressed.</summary>
    public bool Compressing => _mode == Mode.Gzip;

    /// <summary>Uncompressed bytes taken in (nginx's zin).</summary>
    public long BytesIn { get; private set; }

    /// <summary>Compressed bytes put out, gzip header and trailer included (nginx's zout).</summary>
    public long BytesOut => _sink?.Written ?? 0;

    /// <summary>Called by the header filter, during the response's start: compress at <paramref name="level"/>.</summary>
    public void Compress(int level)
    {
        Debug.Assert(CanCompress);
        _sink = new GzipSink(_inner.Writer);
        _deflater = new GZipStream(_sink, new ZLibCompressionOptions { CompressionLevel = level }, leaveOpen: true);
        _mode = Mode.Gzip;
    }

    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        if (Decide() == Mode.Plain)
        {
            return _inner.Writer.GetMemory(sizeHint);
        }

        return InputBuffer(sizeHint);
    }

    public override Span<byte> GetSpan(int sizeHint = 0)
    {
        if (Decide() == Mode.Plain)
        {
            return _inner.Writer.GetSpan(sizeHint);
        }

        return InputBuffer(sizeHint).Span;
    }

    public override void Advance(int bytes)
    {
        if (_mode == Mode.Plain)
        {
            _inner.Writer.Advance(bytes);
            return;
        }

        if (_mode != Mode.Gzip || _input is null || bytes > _input.Length)
        {
            throw new InvalidOperationException("Advance without a buffer from GetMemory.");
        }

        _deflater!.Write(_input, 0, bytes);
        BytesIn += bytes;
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        if (Decide() == Mode.Gzip)
        {
            _deflater!.Flush();
        }

        return _inner.Writer.FlushAsync(cancellationToken);
    }

    public override void CancelPendingFlush() => _inner.Writer.CancelPendingFlush();

    /// <summary>Starts the response (and so settles the mode) without writing.</summary>
    public Task StartAsync()
    {
        Decide();
        return Task.CompletedTask;
    }

    /// <summary>
    /// Ends the body: the gzip trailer goes out, then the response completes. A body that never began is not
    /// started here (but for HEAD), so the header filter sees an empty response and Kestrel still sends it with its
    /// Content-Length: 0 (nginx would send 20 bytes of gzip for an empty text/html body without a length).
    /// </summary>
    public async Task FinishAsync()
    {
        if (_finished)
        {
            return;
        }

        if (_headerOnly && _mode == Mode.Undecided)
        {
            Decide();
        }

        _finished = true;
        if (_mode == Mode.Gzip)
        {
            _sink!.Closed = _headerOnly;
            _deflater!.Dispose();
            _deflater = null;
            _sink!.Closed = true;
            ReturnInput();
        }

        await _inner.CompleteAsync().ConfigureAwait(false);
    }

    public override void Complete(Exception? exception = null)
    {
        if (exception is null)
        {
            FinishAsync().GetAwaiter().GetResult();
            return;
        }

        Dispose();
        _inner.Writer.Complete(exception);
    }

    public override async ValueTask CompleteAsync(Exception? exception = null)
    {
        if (exception is null)
        {
            await FinishAsync().ConfigureAwait(false);
            return;
        }

        Dispose();
        await _inner.Writer.CompleteAsync(exception).ConfigureAwait(false);
    }

    /// <summary>Frees the deflater of a response that did not finish (an abort): nothing more is written.</summary>
    public void Dispose()
    {
        _finished = true;
        if (_sink is not null)
        {
            _sink.Closed = true;
        }

        _deflater?.Dispose();
        _deflater = null;
        ReturnInput();
    }

    private Mode Decide()
    {
        if (_mode == Mode.Undecided)
        {
            if (_finished)
            {
                throw new InvalidOperationException("The response body is complete.");
            }

            // Kestrel runs the OnStarting callbacks here; Portico's are synchronous, so the task is complete.
            var start = _inner.StartAsync();
            if (!start.IsCompletedSuccessfully)
            {
                start.GetAwaiter().GetResult();
            }

            if (_mode == Mode.Undecided)
            {
                _mode = Mode.Plain;
            }
        }

        return _mode;
    }

    private Memory<byte> InputBuffer(int sizeHint)
    {
        var size = Math.Max(sizeHint, MinimumInput);
        if (_input is null || _input.Length < size)
        {
            ReturnInput();
            _input = ArrayPool<byte>.Shared.Rent(size);
        }

        return _input;
    }

    private void ReturnInput()
    {
        if (_input is not null)
        {
            ArrayPool<byte>.Shared.Return(_input);
            _input = null;
        }
    }
}
