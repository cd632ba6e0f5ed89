using System.Text;

namespace Portico.FastCgi.Response;

/// <summary>Status and headers of a CGI response after the Status and Location rules were applied.</summary>
internal sealed record CgiResponseHead(int StatusCode, string? ReasonPhrase, IReadOnlyList<KeyValuePair<string, string>> Headers)
{
    /// <summary>
    /// Parses header lines (without the blank line). A "Status" header sets the status and is removed
    /// (RFC 3875 section 6.3.3); without it a "Location" header means 302, as nginx does, else 200.
    /// Anything malformed throws, which a server turns into 502 as nginx does
    /// ("upstream sent invalid header").
    /// </summary>
    public static CgiResponseHead Parse(ReadOnlySpan<byte> block)
    {
        var headers = new List<KeyValuePair<string, string>>();
        int? status = null;
        string? reason = null;
        var hasLocation = false;

        while (!block.IsEmpty)
        {
            var newline = block.IndexOf((byte)'\n');
            var line = newline < 0 ? block : block[..newline];
            block = newline < 0 ? [] : block[(newline + 1)..];
            if (!line.IsEmpty && line[^1] == (byte)'\r')
            {
                line = line[..^1];
            }

            var colon = line.IndexOf((byte)':');
            if (colon <= 0 || !IsToken(line[..colon]))
            {
                throw Invalid($"malformed header line \"{Show(line)}\"");
            }

            var name = HeaderName(line[..colon]);
            var value = Encoding.Latin1.GetString(Trim(line[(colon + 1)..]));
            if (value.AsSpan().ContainsAny('\r', '\0'))
            {
                throw Invalid($"control character in header \"{name}\"");
            }

            if (name.Equals("Status", StringComparison.OrdinalIgnoreCase))
            {
                (status, reason) = ParseStatus(value);
                continue;
            }

            if (name.Equals("Location", StringComparison.OrdinalIgnoreCase))
            {
                hasLocation = true;
            }

            headers.Add(new(name, value));
        }

        var code = status ?? (hasLocation ? 302 : 200);
        return new CgiResponseHead(code, reason, headers);
    }

    // Names most PHP responses carry, spelled as PHP sends them: matched by bytes, so a response's names cost no strings.
    private static readonly string[] CommonNames =
    [
        "Content-type", "Content-Type", "X-Powered-By", "Location", "Set-Cookie", "Cache-Control", "Expires", "Pragma",
        "Last-Modified", "Content-Length", "Vary", "X-Accel-Redirect",
    ];

    private static string HeaderName(ReadOnlySpan<byte> bytes)
    {
        foreach (var common in CommonNames)
        {
            if (common.Length == bytes.Length && System.Text.Ascii.Equals(bytes, common))
            {
                return common;
            }
        }

        return Encoding.ASCII.GetString(bytes);
    }

    private static (int Code, string? Reason) ParseStatus(string value)
    {
        // "404" or "404 Not Found": three digits, then an optional reason phrase.
        if (value.Length < 3 || !char.IsAsciiDigit(value[0]) || !char.IsAsciiDigit(value[1]) || !char.IsAsciiDigit(value[2])
            || (value.Length > 3 && value[3] != ' ') || value[0] == '0')
        {
            throw Invalid($"invalid Status \"{value}\"");
        }

        var code = (value[0] - '0') * 100 + (value[1] - '0') * 10 + (value[2] - '0');
        var reason = value.Length > 4 ? value[4..].Trim() : null;
        return (code, string.IsNullOrEmpty(reason) ? null : reason);
    }

    private static bool IsToken(ReadOnlySpan<byte> name)
    {
        // RFC 9110 section 5.6.2 token characters.
        foreach (var b in name)
        {
            var ok = b is >= (byte)'a' and <= (byte)'z' or >= (byte)'A' and <= (byte)'Z' or >= (byte)'0' and <= (byte)'9'
                || "!#$%&'*+-.^_`|~"u8.Contains(b);
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    private static ReadOnlySpan<byte> Trim(ReadOnlySpan<byte> value) => value.Trim(" \t"u8);

    private static string Show(ReadOnlySpan<byte> line) =>
        Encoding.Latin1.GetString(line.Length > 80 ? line[..80] : line);

    private static FastCgiException Invalid(string detail) =>
        new(FastCgiErrorKind.InvalidResponseHeader, "The FastCGI backend sent an invalid response header: " + detail + ".");
}
