namespace Portico.FastCgi.Response;

/// <summary>
/// Finds the end of the CGI header block (RFC 3875 section 6.2: header lines, then a blank line) in bytes
/// that arrive piecemeal. Scanning resumes where it stopped, so a backend that sends one byte per record
/// costs linear, not quadratic, time. Lines may end in LF or CRLF, as nginx accepts.
/// </summary>
internal sealed class CgiHeaderBlock
{
    private int _scanned;
    private int _lineStart;

    /// <summary>Offset just past the blank line, once found.</summary>
    public int BodyStart { get; private set; } = -1;

    /// <summary>Length of the header lines, excluding the terminating blank line.</summary>
    public int HeaderLength { get; private set; } = -1;

    public bool IsComplete => BodyStart >= 0;

    /// <summary>Scans newly arrived bytes; <paramref name="buffer"/> is everything received so far.</summary>
    public bool Scan(ReadOnlySpan<byte> buffer)
    {
        while (_scanned < buffer.Length && !IsComplete)
        {
            var newline = buffer[_scanned..].IndexOf((byte)'\n');
            if (newline < 0)
            {
                _scanned = buffer.Length;
                break;
            }

            var end = _scanned + newline;
            var lineLength = end - _lineStart;
            if (lineLength == 0 || (lineLength == 1 && buffer[_lineStart] == (byte)'\r'))
            {
                HeaderLength = _lineStart;
                BodyStart = end + 1;
            }

            _lineStart = end + 1;
            _scanned = end + 1;
        }

        return IsComplete;
    }
}
