using System.Buffers;
using System.IO.Pipelines;

namespace Portico.Server.Compression;

/// <summary>
/// Where the compressor's output goes: copied into the response's own pipe (no flush: the body writer flushes when
/// its caller does), counted for <c>$body_bytes_sent</c> and <c>$gzip_ratio</c>. Once the response is over it takes
/// nothing, so a compressor disposed after an abort cannot write into a finished pipe.
/// </summary>
internal sealed class GzipSink : Stream
{
    private readonly PipeWriter _target;

    public GzipSink(PipeWriter target) => _target = target;

    /// <summary>Bytes of gzip (header, deflate data and trailer) written so far.</summary>
    public long Written { get; private set; }

    public bool Closed { get; set; }

    public override bool CanRead => false;
    public override bool CanSeek => false;
    public override bool CanWrite => true;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (Closed || buffer.IsEmpty)
        {
            return;
        }

        _target.Write(buffer);
        Written += buffer.Length;
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void WriteByte(byte value) => Write([value]);

    // The compressor's Flush ends here; the response is flushed by the body writer, asynchronously.
    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
}
