using System.Buffers;
using System.Text;

namespace Portico.FastCgi.Protocol;

/// <summary>Turns the FCGI_STDERR stream, which may split a line across records, into whole lines.</summary>
internal sealed class StderrLineSplitter
{
    // A runaway line without newline is cut here so a backend cannot grow our memory without bound.
    private const int MaxLineLength = 16 * 1024;

    private readonly Action<string> _onLine;
    private readonly ArrayBufferWriter<byte> _pending = new();

    public StderrLineSplitter(Action<string> onLine) => _onLine = onLine;

    public void Append(ReadOnlySequence<byte> data)
    {
        foreach (var segment in data)
        {
            var span = segment.Span;
            while (!span.IsEmpty)
            {
                var newline = span.IndexOf((byte)'\n');
                if (newline < 0)
                {
                    AppendBounded(span);
                    break;
                }

                AppendBounded(span[..newline]);
                Emit();
                span = span[(newline + 1)..];
            }
        }
    }

    /// <summary>Emits a last line that had no trailing newline (at FCGI_END_REQUEST).</summary>
    public void Flush()
    {
        if (_pending.WrittenCount > 0)
        {
            Emit();
        }
    }

    private void AppendBounded(ReadOnlySpan<byte> span)
    {
        while (_pending.WrittenCount + span.Length > MaxLineLength)
        {
            var room = MaxLineLength - _pending.WrittenCount;
            _pending.Write(span[..room]);
            Emit();
            span = span[room..];
        }

        _pending.Write(span);
    }

    private void Emit()
    {
        var line = _pending.WrittenSpan;
        if (!line.IsEmpty && line[^1] == (byte)'\r')
        {
            line = line[..^1];
        }

        var text = Encoding.UTF8.GetString(line);
        _pending.ResetWrittenCount();
        _onLine(text);
    }
}
