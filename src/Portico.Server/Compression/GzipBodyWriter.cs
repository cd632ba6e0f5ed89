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

    // RFC 1952 header (no name, no time, OS 3: Unix), an empty final fixed-Huffman block, CRC-32 0, length 0.
    private static ReadOnlySpan<byte> EmptyGzip => [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    private readonly IHttpResponseBodyFeature _inner;
    private readonly Action _abort;
    private Mode _mode;
    private bool _starting;
    private int _level;
    private GZipStream? _deflater;
    private GzipSink? _sink;
    private byte[]? _input;
    private bool _finished;

    private readonly bool _headerOnly;

    /// <param name="headerOnly">A HEAD request: the response's head is settled at the end as for a GET, and no gzip
    /// bytes are written.</param>
    /// <param name="abort">Cuts the connection: a body shorter than the Content-Length it came with must not end with
    /// a valid trailer, as a short response without gzip is cut.</param>
    public GzipBodyWriter(IHttpResponseBodyFeature inner, bool headerOnly, Action abort)
    {
        _inner = inner;
        _headerOnly = headerOnly;
        _abort = abort;
    }

    /// <summary>The Content-Length the response had before the filter removed it: the body must be that long (nginx
    /// drops what a backend sends beyond it, and cuts the connection when it sends less).</summary>
    public long? DeclaredLength { get; set; }

    private enum Mode
    {
        Undecided,
        Plain,
        Gzip,
    }

    /// <summary>Nothing of the body was written yet and no mode chosen: the filter may still compress it.</summary>
    public bool Undecided => _mode == Mode.Undecided && !_finished;

    /// <summary>True while this writer is starting the response: only then can the filter choose gzip (a start that
    /// Kestrel makes on its own, for a body nobody wrote through this writer, stays plain).</summary>
    public bool CanCompress => _mode == Mode.Undecided && !_finished && _starting;

    /// <summary>The response is being compressed.</summary>
    public bool Compressing => _mode == Mode.Gzip;

    /// <summary>Uncompressed bytes taken in (nginx's zin).</summary>
    public long BytesIn { get; private set; }

    /// <summary>Compressed bytes put out, gzip header and trailer included (nginx's zout).</summary>
    public long BytesOut => _sink?.Written ?? 0;

    /// <summary>Called by the header filter, during the response's start: compress at <paramref name="level"/>. The
    /// deflater (about 256 KB of zlib state) is made with the first byte of the body, as nginx makes its own, so a
    /// HEAD never has one.</summary>
    public void Compress(int level)
    {
        Debug.Assert(CanCompress);
        _level = level;
        _mode = Mode.Gzip;
    }

    private GZipStream Deflater()
    {
        if (_finished)
        {
            throw new InvalidOperationException("The response body is complete.");
        }

        if (_deflater is null)
        {
            _sink = new GzipSink(_inner.Writer);
            _deflater = new GZipStream(_sink, new ZLibCompressionOptions { CompressionLevel = _level }, leaveOpen: true);
        }

        return _deflater;
    }

    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        if (_finished)
        {
            throw new InvalidOperationException("The response body is complete.");
        }

        if (Decide() == Mode.Plain)
        {
            return _inner.Writer.GetMemory(sizeHint);
        }

        return InputBuffer(sizeHint);
    }

    public override Span<byte> GetSpan(int sizeHint = 0)
    {
        if (_finished)
        {
            throw new InvalidOperationException("The response body is complete.");
        }

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

        var take = DeclaredLength is { } declared ? (int)Math.Clamp(declared - BytesIn, 0, bytes) : bytes;
        if (take > 0)
        {
            Deflater().Write(_input, 0, take);
            BytesIn += take;
        }
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        if (Decide() == Mode.Gzip && _deflater is not null)
        {
            Deflater().Flush();
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

        if (_mode == Mode.Gzip && !_headerOnly)
        {
            if (BytesIn < DeclaredLength)
            {
                // The backend sent less than it announced: no trailer, and the connection is cut.
                Dispose();
                _abort();
                return;
            }

            if (BytesIn == 0)
            {
                // The head said gzip, so even an empty body is a gzip stream; .NET's deflater writes nothing for one.
                _sink = new GzipSink(_inner.Writer);
                _sink.Write(EmptyGzip);
            }
            else
            {
                Deflater().Dispose();
                _deflater = null;
            }

            _sink!.Closed = true;
        }

        _finished = true;
        ReturnInput();
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
            _starting = true;
            try
            {
                var start = _inner.StartAsync();
                if (!start.IsCompletedSuccessfully)
                {
                    start.GetAwaiter().GetResult();
                }
            }
            finally
            {
                _starting = false;
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
