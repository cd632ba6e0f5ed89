namespace Portico.Server.Phases;

/// <summary>
/// Host header handling as ngx_http_validate_host: lower-case, port and one trailing dot
/// stripped; a host with a path separator, a "..", or a control byte is invalid (400).
/// An absent Host (HTTP/1.0) gives "", which selects the <c>""</c> name or the default server.
/// </summary>
internal static class HostNormalizer
{
    public static bool TryNormalize(string raw, out string host)
    {
        host = "";
        if (raw.Length == 0)
        {
            return true;
        }

        var span = raw.AsSpan().Trim();
        if (span.Length > 0 && span[0] == '[')
        {
            // IPv6 literal: keep the brackets, drop the port.
            var close = span.IndexOf(']');
            if (close < 0)
            {
                return false;
            }

            host = span[..(close + 1)].ToString().ToLowerInvariant();
            return true;
        }

        var colon = span.IndexOf(':');
        if (colon >= 0)
        {
            foreach (var c in span[(colon + 1)..])
            {
                if (!char.IsAsciiDigit(c))
                {
                    return false;
                }
            }

            span = span[..colon];
        }

        if (span.EndsWith("."))
        {
            span = span[..^1];
        }

        var previousDot = false;
        var needsLowering = false;
        foreach (var c in span)
        {
            needsLowering |= char.IsAsciiLetterUpper(c) || c >= 0x80;
            if (c is '/' or '\\' || c < 0x20 || c == 0x7f)
            {
                return false;
            }

            if (c == '.')
            {
                if (previousDot)
                {
                    return false;
                }

                previousDot = true;
            }
            else
            {
                previousDot = false;
            }
        }

        // The usual Host is already in normal form: it is kept as it came, without a copy.
        host = needsLowering ? span.ToString().ToLowerInvariant() : span.Length == raw.Length ? raw : span.ToString();
        return true;
    }
}
