namespace Portico.FastCgi.Tests.Infrastructure;

/// <summary>A read-only stream that returns its bytes in the given chunk sizes (cycled), so a
/// PipeReader over it sees a record split exactly at those boundaries.</summary>
internal sealed class ChunkedStream : Stream
{
    private readonly byte[] _data;
    private readonly Func<int> _nextChunk;
    private int _position;

    public ChunkedStream(byte[] data, Func<int> nextChunk)
    {
        _data = data;
        _nextChunk = nextChunk;
    }

    public static ChunkedStream OneByteAtATime(byte[] data) => new(data, () => 1);

    public static ChunkedStream Random(byte[] data, int seed, int maxChunk)
    {
        var random = new Random(seed);
        return new ChunkedStream(data, () => random.Next(1, maxChunk + 1));
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => _data.Length;

    public override long Position { get => _position; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count)
    {
        var n = Math.Min(Math.Min(count, _nextChunk()), _data.Length - _position);
        Array.Copy(_data, _position, buffer, offset, n);
        _position += n;
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var n = Math.Min(Math.Min(buffer.Length, _nextChunk()), _data.Length - _position);
        _data.AsMemory(_position, n).CopyTo(buffer);
        _position += n;
        return ValueTask.FromResult(n);
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
