using System.Buffers;
using System.Text;

namespace Portico.Server.FastCgi;

/// <summary>
/// The bytes of one request's CGI param values, packed into pooled arrays instead of one array per value.
/// Lives for the whole FastCGI pass (a retry on the next upstream server sends the same params), then
/// goes back to the pool.
/// </summary>
internal sealed class ParamArena : IDisposable
{
    private const int ChunkSize = 4096;

    private byte[] _chunk = ArrayPool<byte>.Shared.Rent(ChunkSize);
    private int _used;
    private List<byte[]>? _full;

    /// <summary>Room for at least <paramref name="size"/> bytes; write, then <see cref="Commit"/> what was used.</summary>
    public Span<byte> Reserve(int size)
    {
        if (_chunk.Length - _used < size)
        {
            (_full ??= []).Add(_chunk);
            _chunk = ArrayPool<byte>.Shared.Rent(Math.Max(size, ChunkSize));
            _used = 0;
        }

        return _chunk.AsSpan(_used);
    }

    /// <summary>Keeps <paramref name="length"/> bytes written at the start of the last reservation.</summary>
    public ReadOnlyMemory<byte> Commit(int length)
    {
        var memory = _chunk.AsMemory(_used, length);
        _used += length;
        return memory;
    }

    /// <summary>Copies <paramref name="value"/> as UTF-8.</summary>
    public ReadOnlyMemory<byte> Add(string value)
    {
        if (value.Length == 0)
        {
            return ReadOnlyMemory<byte>.Empty;
        }

        var span = Reserve(Encoding.UTF8.GetMaxByteCount(value.Length));
        return Commit(Encoding.UTF8.GetBytes(value, span));
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_chunk);
        _chunk = [];
        if (_full is not null)
        {
            foreach (var chunk in _full)
            {
                ArrayPool<byte>.Shared.Return(chunk);
            }

            _full = null;
        }
    }
}
