using System.Buffers;
using System.Text;

namespace Portico.Server.Phases;

/// <summary>
/// Turns the path of a request target into nginx's <c>$uri</c>, as ngx_http_parse_complex_uri
/// does: %-decoding, merging slashes (<c>merge_slashes</c>), and resolving <c>.</c> and
/// <c>..</c> segments. Returns false (the caller answers 400) for a bad escape, a decoded NUL,
/// or a <c>..</c> that would climb above the root (RFC 3986 §5.2.4 would clamp it; nginx rejects it).
/// </summary>
internal static class UriNormalizer
{
    public static bool TryNormalize(ReadOnlySpan<char> rawPath, bool mergeSlashes, out string uri)
    {
        uri = "/";
        if (rawPath.IsEmpty || rawPath[0] != '/')
        {
            return false;
        }

        // Fast path: nothing to decode or resolve.
        if (!NeedsWork(rawPath, mergeSlashes))
        {
            uri = rawPath.ToString();
            return true;
        }

        byte[] rented = ArrayPool<byte>.Shared.Rent(rawPath.Length * 3);
        try
        {
            // 1. Decode into bytes (%XX may produce UTF-8 sequences).
            var decoded = 0;
            for (var i = 0; i < rawPath.Length; i++)
            {
                var c = rawPath[i];
                if (c == '%')
                {
                    if (i + 2 >= rawPath.Length || !IsHex(rawPath[i + 1]) || !IsHex(rawPath[i + 2]))
                    {
                        return false;
                    }

                    var b = (byte)((HexValue(rawPath[i + 1]) << 4) | HexValue(rawPath[i + 2]));
                    if (b == 0)
                    {
                        return false;
                    }

                    rented[decoded++] = b;
                    i += 2;
                }
                else if (c < 0x80)
                {
                    rented[decoded++] = (byte)c;
                }
                else
                {
                    // Kestrel hands over the raw target as Latin-1; keep the bytes as sent.
                    rented[decoded++] = (byte)c;
                }
            }

            // 2. Resolve segments on the decoded bytes (%2F and %2E act as '/' and '.', as in nginx).
            var output = new byte[decoded];
            var length = 0;
            var start = 0;
            while (start < decoded)
            {
                // rented[start] is '/' here.
                var end = start + 1;
                while (end < decoded && rented[end] != (byte)'/')
                {
                    end++;
                }

                var segment = new ReadOnlySpan<byte>(rented, start + 1, end - start - 1);
                var isLast = end >= decoded;
                if (segment.Length == 0 && !isLast && mergeSlashes)
                {
                    // "//" merged.
                }
                else if (segment.Length == 1 && segment[0] == (byte)'.')
                {
                    if (isLast)
                    {
                        output[length++] = (byte)'/';
                    }
                }
                else if (segment.Length == 2 && segment[0] == (byte)'.' && segment[1] == (byte)'.')
                {
                    if (length == 0)
                    {
                        return false;
                    }

                    // Drop the last output segment.
                    var slash = new ReadOnlySpan<byte>(output, 0, length).LastIndexOf((byte)'/');
                    length = slash;
                    if (isLast)
                    {
                        output[length++] = (byte)'/';
                    }
                }
                else
                {
                    output[length++] = (byte)'/';
                    segment.CopyTo(output.AsSpan(length));
                    length += segment.Length;
                }

                start = end;
            }

            if (length == 0)
            {
                output[length++] = (byte)'/';
            }

            uri = Encoding.UTF8.GetString(output, 0, length);
            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private static bool NeedsWork(ReadOnlySpan<char> path, bool mergeSlashes)
    {
        for (var i = 0; i < path.Length; i++)
        {
            var c = path[i];
            if (c == '%' || c >= 0x80)
            {
                return true;
            }

            if (c == '/' && i + 1 < path.Length)
            {
                var next = path[i + 1];
                if ((next == '/' && mergeSlashes) || next == '.')
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static bool IsHex(char c) => char.IsAsciiHexDigit(c);

    private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}
