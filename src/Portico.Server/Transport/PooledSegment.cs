using System.Buffers;

namespace Portico.Server.Transport;

/// <summary>
/// A block from the connection's memory pool, chained with others into a <see cref="ReadOnlySequence{T}"/>: bytes
/// are written up to <see cref="End"/>, and those before <see cref="Start"/> are used up (read or sent). The
/// transport's input reader and output writer keep their bytes in these.
/// </summary>
internal sealed class PooledSegment : ReadOnlySequenceSegment<byte>
{
    private const int MinimumSize = 4096;

    private IMemoryOwner<byte>? _owner;

    public Memory<byte> Buffer;
    public int Start;
    public int End;

    public PooledSegment? NextSegment => (PooledSegment?)Next;

    public int Free => Buffer.Length - End;

    /// <summary>A block of at least <paramref name="sizeHint"/> bytes (4 KB at least); one larger than the pool's
    /// blocks is an array of its own, as Kestrel's ConcurrentPipeWriter does. <paramref name="spare"/> is a released
    /// segment object to reuse, if any.</summary>
    public static PooledSegment Rent(MemoryPool<byte> pool, int sizeHint, PooledSegment? spare)
    {
        var segment = spare ?? new PooledSegment();
        if (sizeHint <= pool.MaxBufferSize)
        {
            var owner = pool.Rent(Math.Min(Math.Max(sizeHint, MinimumSize), pool.MaxBufferSize));
            segment._owner = owner;
            segment.Buffer = owner.Memory;
        }
        else
        {
            segment.Buffer = new byte[sizeHint];
        }

        return segment;
    }

    /// <summary>A new block at the end of the chain from <paramref name="head"/> to <paramref name="tail"/> (its
    /// start when empty), made from <paramref name="spare"/> when there is one.</summary>
    public static PooledSegment Append(MemoryPool<byte> pool, int sizeHint, ref PooledSegment? head, ref PooledSegment? tail, ref PooledSegment? spare)
    {
        var segment = Rent(pool, sizeHint, spare);
        spare = null;
        if (tail is not null)
        {
            tail.Link(segment);
        }
        else
        {
            head = segment;
        }

        tail = segment;
        return segment;
    }

    /// <summary>Chains <paramref name="next"/> after this block, whose written bytes are then final.</summary>
    public void Link(PooledSegment next)
    {
        Seal();
        next.RunningIndex = RunningIndex + End;
        Next = next;
    }

    /// <summary>Exposes the bytes written so far to a sequence over the chain; returns this block.</summary>
    public PooledSegment Seal()
    {
        Memory = Buffer[..End];
        return this;
    }

    /// <summary>Gives the block back to the pool; the object may be rented again.</summary>
    public void Release()
    {
        _owner?.Dispose();
        _owner = null;
        Buffer = default;
        Memory = default;
        Next = null;
        RunningIndex = 0;
        Start = End = 0;
    }
}
