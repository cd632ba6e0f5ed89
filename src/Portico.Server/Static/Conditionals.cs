using Portico.Config.Model;

namespace Portico.Server.Static;

/// <summary>
/// Conditional request evaluation as nginx's not_modified filter does it
/// (ngx_http_not_modified_filter_module.c), which implements RFC 9110 §13.2.2 with nginx's
/// own edges that we keep: If-Unmodified-Since and If-Match fail with 412; a 304 needs every
/// present If-Modified-Since and If-None-Match to agree (nginx does not let If-None-Match
/// override If-Modified-Since); an unparsable If-Unmodified-Since fails (412), an unparsable
/// If-Modified-Since passes (200); with <c>etag off</c> only <c>*</c> matches.
/// </summary>
internal static class Conditionals
{
    /// <summary>Returns 200 to proceed, 304 or 412.</summary>
    public static int Evaluate(string? ifMatch, string? ifNoneMatch, string? ifModifiedSince, string? ifUnmodifiedSince,
        string? etag, long mtimeSeconds, IfModifiedSinceMode mode)
    {
        if (ifUnmodifiedSince is not null && HttpDate.Parse(ifUnmodifiedSince) < mtimeSeconds)
        {
            return 412;
        }

        if (ifMatch is not null && !Matches(ifMatch, etag, weak: false))
        {
            return 412;
        }

        if (ifModifiedSince is null && ifNoneMatch is null)
        {
            return 200;
        }

        if (ifModifiedSince is not null && IsModified(ifModifiedSince, mtimeSeconds, mode))
        {
            return 200;
        }

        if (ifNoneMatch is not null && !Matches(ifNoneMatch, etag, weak: true))
        {
            return 200;
        }

        return 304;
    }

    /// <summary>ngx_http_test_if_modified: <c>exact</c> wants equal seconds, <c>before</c> a file not newer.</summary>
    public static bool IsModified(string header, long mtimeSeconds, IfModifiedSinceMode mode)
    {
        if (mode == IfModifiedSinceMode.Off)
        {
            return true;
        }

        long ims = HttpDate.Parse(header);
        if (ims == mtimeSeconds)
        {
            return false;
        }

        return mode == IfModifiedSinceMode.Exact || ims < mtimeSeconds;
    }

    /// <summary>
    /// ngx_http_test_if_match: the list is scanned for <paramref name="etag"/> byte for byte;
    /// with <paramref name="weak"/> (If-None-Match, RFC 9110 §8.8.3.2 weak comparison) a <c>W/</c>
    /// prefix on either side is ignored. <c>*</c> alone matches any current representation.
    /// </summary>
    public static bool Matches(ReadOnlySpan<char> header, string? etag, bool weak)
    {
        if (header.Length == 1 && header[0] == '*')
        {
            return true;
        }

        if (string.IsNullOrEmpty(etag))
        {
            return false;
        }

        ReadOnlySpan<char> tag = etag;
        if (weak && tag.Length > 2 && tag[0] == 'W' && tag[1] == '/')
        {
            tag = tag[2..];
        }

        int start = 0;
        int end = header.Length;
        while (start < end)
        {
            if (weak && end - start > 2 && header[start] == 'W' && header[start + 1] == '/')
            {
                start += 2;
            }

            if (tag.Length > end - start)
            {
                return false;
            }

            if (header.Slice(start, tag.Length).SequenceEqual(tag))
            {
                start += tag.Length;
                while (start < end && header[start] is ' ' or '\t')
                {
                    start++;
                }

                if (start == end || header[start] == ',')
                {
                    return true;
                }
            }

            while (start < end && header[start] != ',')
            {
                start++;
            }

            while (start < end && header[start] is ' ' or '\t' or ',')
            {
                start++;
            }
        }

        return false;
    }

    /// <summary>
    /// ngx_http_range_header_filter's If-Range test: a value ending in '"' is an entity tag and
    /// must equal ours exactly (strong comparison, RFC 9110 §13.1.5); otherwise it is a date that
    /// must equal Last-Modified to the second.
    /// </summary>
    public static bool IfRangeAllows(string ifRange, string? etag, long mtimeSeconds)
    {
        if (ifRange.Length >= 2 && ifRange[^1] == '"')
        {
            return !string.IsNullOrEmpty(etag) && string.Equals(ifRange, etag, StringComparison.Ordinal);
        }

        return HttpDate.Parse(ifRange) == mtimeSeconds;
    }
}
