namespace Portico.Server.Static;

/// <summary>A satisfiable byte range, <see cref="Start"/> inclusive and <see cref="End"/> exclusive.</summary>
internal readonly record struct ByteRange(long Start, long End)
{
    public long Length => End - Start;
}

internal enum RangeOutcome
{
    /// <summary>No usable Range header, or nginx declines it: send the whole representation (200).</summary>
    Full,

    /// <summary>206 with one or more parts.</summary>
    Partial,

    /// <summary>416 with <c>Content-Range: bytes */length</c>.</summary>
    NotSatisfiable,
}

/// <summary>
/// Range header parsing, ported from nginx 1.22's ngx_http_range_parse
/// (src/http/modules/ngx_http_range_filter_module.c). nginx departs from RFC 9110 §14.2 in ways
/// clients can see, and we follow nginx: a syntax error after "bytes=" is a 416 (not an ignored
/// header); ranges are neither sorted nor coalesced; a set whose total size exceeds the file
/// (e.g. heavy overlap) is declined and the full body is sent; a range starting at 0 that is
/// empty (a zero-length file) also declines.
/// </summary>
internal static class ByteRanges
{
    private const long Cutoff = long.MaxValue / 10;
    private const long Cutlim = long.MaxValue % 10;

    /// <summary>
    /// Parses <paramref name="header"/> against a representation of <paramref name="length"/> bytes.
    /// <paramref name="ranges"/> receives the parts for <see cref="RangeOutcome.Partial"/>; the
    /// list is only allocated when there is more than one part (<paramref name="first"/> holds the first).
    /// </summary>
    public static RangeOutcome Parse(ReadOnlySpan<char> header, long length, out ByteRange first, out List<ByteRange>? ranges, int maxRanges = int.MaxValue)
    {
        first = default;
        ranges = null;

        // ngx_http_range_header_filter: anything but "bytes=" (case-insensitive) is not a range request.
        if (header.Length < 7 || !header[..6].Equals("bytes=", StringComparison.OrdinalIgnoreCase))
        {
            return RangeOutcome.Full;
        }

        int p = 6;
        int end = header.Length;

        int count = 0;
        long size = 0;
        int left = maxRanges;

        for (; ; )
        {
            long start = 0;
            long last = 0;
            bool suffix = false;
            bool open = false;

            while (At(header, p) == ' ')
            {
                p++;
            }

            if (At(header, p) != '-')
            {
                if (At(header, p) is < '0' or > '9')
                {
                    return RangeOutcome.NotSatisfiable;
                }

                while (At(header, p) is >= '0' and <= '9')
                {
                    if (start >= Cutoff && (start > Cutoff || At(header, p) - '0' > Cutlim))
                    {
                        return RangeOutcome.NotSatisfiable;
                    }

                    start = start * 10 + (At(header, p++) - '0');
                }

                while (At(header, p) == ' ')
                {
                    p++;
                }

                if (At(header, p++) != '-')
                {
                    return RangeOutcome.NotSatisfiable;
                }

                while (At(header, p) == ' ')
                {
                    p++;
                }

                if (At(header, p) == ',' || p >= end)
                {
                    last = length;
                    open = true;
                }
            }
            else
            {
                suffix = true;
                p++;
            }

            if (!open)
            {
                if (At(header, p) is < '0' or > '9')
                {
                    return RangeOutcome.NotSatisfiable;
                }

                while (At(header, p) is >= '0' and <= '9')
                {
                    if (last >= Cutoff && (last > Cutoff || At(header, p) - '0' > Cutlim))
                    {
                        return RangeOutcome.NotSatisfiable;
                    }

                    last = last * 10 + (At(header, p++) - '0');
                }

                while (At(header, p) == ' ')
                {
                    p++;
                }

                if (At(header, p) != ',' && p < end)
                {
                    return RangeOutcome.NotSatisfiable;
                }

                if (suffix)
                {
                    start = last < length ? length - last : 0;
                    last = length - 1;
                }

                last = last >= length ? length : last + 1;
            }

            if (start < last)
            {
                if (size > long.MaxValue - (last - start))
                {
                    return RangeOutcome.NotSatisfiable;
                }

                size += last - start;
                var range = new ByteRange(start, last);
                if (count == 0)
                {
                    first = range;
                }
                else
                {
                    ranges ??= [first];
                    ranges.Add(range);
                }

                count++;
                if (left-- == 0)
                {
                    ranges = null;
                    return RangeOutcome.Full;
                }
            }
            else if (start == 0)
            {
                ranges = null;
                return RangeOutcome.Full;
            }

            if (At(header, p++) != ',')
            {
                break;
            }
        }

        if (count == 0)
        {
            return RangeOutcome.NotSatisfiable;
        }

        if (size > length)
        {
            ranges = null;
            return RangeOutcome.Full;
        }

        return RangeOutcome.Partial;
    }

    private static char At(ReadOnlySpan<char> s, int i) => (uint)i < (uint)s.Length ? s[i] : '\0';
}
