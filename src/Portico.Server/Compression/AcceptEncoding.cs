namespace Portico.Server.Compression;

/// <summary>
/// Whether an <c>Accept-Encoding</c> value admits gzip, read as nginx reads it (ngx_http_gzip_accept_encoding): a
/// <c>gzip</c> token that starts the value or follows a comma or space, ends at a comma, space, <c>;</c> or the end,
/// and whose <c>q</c>, if any, is not zero (RFC 9110 §12.5.3). <c>x-gzip</c> and <c>*</c> do not count, as in nginx.
/// </summary>
internal static class AcceptEncoding
{
    public static bool AllowsGzip(ReadOnlySpan<char> value)
    {
        if (value.Length < 4)
        {
            return false;
        }

        var start = 0;
        int at;
        while (true)
        {
            var found = value[start..].IndexOf("gzip", StringComparison.OrdinalIgnoreCase);
            if (found < 0)
            {
                return false;
            }

            at = start + found;
            if (at == 0 || value[at - 1] is ',' or ' ')
            {
                break;
            }

            start = at + 4;
        }

        var p = at + 4;
        while (p < value.Length)
        {
            switch (value[p++])
            {
                case ',':
                    return true;
                case ';':
                    return Quantity(value[p..]);
                case ' ':
                    continue;
                default:
                    return false;
            }
        }

        return true;
    }

    // After "gzip;": spaces, then q=VALUE; a value of zero, or one nginx cannot read, refuses gzip.
    private static bool Quantity(ReadOnlySpan<char> rest)
    {
        var p = 0;
        while (p < rest.Length && rest[p] == ' ')
        {
            p++;
        }

        if (p == rest.Length)
        {
            return true;
        }

        if (rest[p] is not ('q' or 'Q'))
        {
            return false;
        }

        p++;
        if (p + 2 > rest.Length || rest[p] != '=')
        {
            return false;
        }

        return QValue(rest[(p + 1)..]) > 0;
    }

    /// <summary>ngx_http_gzip_quantity: the qvalue in thousandths, 0 when it is zero or malformed.</summary>
    internal static int QValue(ReadOnlySpan<char> s)
    {
        var p = 0;
        var c = s[p++];
        if (c is not ('0' or '1'))
        {
            return 0;
        }

        var q = (c - '0') * 1000;
        if (p == s.Length || s[p] is ',' or ' ')
        {
            return q;
        }

        if (s[p++] != '.')
        {
            return 0;
        }

        var digits = 0;
        var scale = 100;
        while (p < s.Length && s[p] is not (',' or ' '))
        {
            c = s[p++];
            if (c is < '0' or > '9' || ++digits > 3)
            {
                return 0;
            }

            q += (c - '0') * scale;
            scale /= 10;
        }

        return q > 1000 ? 0 : q;
    }
}
