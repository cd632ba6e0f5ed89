using System.Globalization;
using Microsoft.AspNetCore.Http;
using Portico.FastCgi.Client;
using Portico.Server.Static;

namespace Portico.Server.FastCgi;

/// <summary>What <c>fastcgi_force_ranges on</c> makes of a backend's response.</summary>
internal enum FastCgiRangeKind
{
    /// <summary>The range filter does not apply (not a 200, no Content-Length): the response as it came.</summary>
    None,

    /// <summary>The whole response, with <c>Accept-Ranges: bytes</c> (no usable Range, or one nginx declines).</summary>
    Full,

    /// <summary>206 with one range of the body.</summary>
    Partial,

    /// <summary>416 with <c>Content-Range: bytes */length</c>.</summary>
    NotSatisfiable,
}

/// <summary>
/// <c>fastcgi_force_ranges</c> (https://nginx.org/en/docs/http/ngx_http_fastcgi_module.html#fastcgi_force_ranges):
/// nginx's range header filter run on a backend's response with <c>r->allow_ranges</c> and <c>r->single_range</c>
/// set (ngx_http_upstream_process_headers). It applies only to a 200 whose length is known (the backend sent
/// Content-Length); If-Range is checked against the backend's ETag and Last-Modified; one range at most, more are
/// declined (the whole response); a syntax error is a 416.
/// </summary>
internal static class FastCgiRanges
{
    public static FastCgiRangeKind Decide(HttpRequest request, FastCgiResponse response, out long length, out ByteRange range)
    {
        range = default;
        length = -1;
        if (response.StatusCode != StatusCodes.Status200OK
            || response.GetHeader("Content-Length") is not { } declared
            || !long.TryParse(declared, NumberStyles.None, CultureInfo.InvariantCulture, out length))
        {
            length = -1;
            return FastCgiRangeKind.None;
        }

        // ngx_http_range_header_filter: no "bytes=" Range is the whole response (with Accept-Ranges).
        var header = request.Headers.Range;
        if (header.Count == 0 || header[0] is not { Length: >= 7 } text || !text.StartsWith("bytes=", StringComparison.OrdinalIgnoreCase))
        {
            return FastCgiRangeKind.Full;
        }

        if (request.Headers.IfRange is { Count: > 0 } ifRange && !IfRangeAllows(ifRange[0] ?? "", response))
        {
            return FastCgiRangeKind.Full;
        }

        return ByteRanges.Parse(text, length, out range, out _, maxRanges: 1) switch
        {
            RangeOutcome.Partial => FastCgiRangeKind.Partial,
            RangeOutcome.NotSatisfiable => FastCgiRangeKind.NotSatisfiable,
            _ => FastCgiRangeKind.Full,
        };
    }

    /// <summary>The part of <paramref name="chunk"/> inside the window that starts <paramref name="skip"/> bytes on and is
    /// <paramref name="take"/> bytes long; both move on by what the chunk covered.</summary>
    public static ReadOnlySpan<byte> Window(ReadOnlySpan<byte> chunk, scoped ref long skip, scoped ref long take)
    {
        var skipped = (int)Math.Min(skip, chunk.Length);
        skip -= skipped;
        chunk = chunk[skipped..];
        var taken = (int)Math.Min(take, chunk.Length);
        take -= taken;
        return chunk[..taken];
    }

    /// <summary>If-Range against the backend's validators: an entity tag must equal its ETag; a date, its Last-Modified
    /// (a response without the validator never matches).</summary>
    private static bool IfRangeAllows(string ifRange, FastCgiResponse response)
    {
        if (ifRange.Length >= 2 && ifRange[^1] == '"')
        {
            return response.GetHeader("ETag") is { } etag && string.Equals(ifRange, etag, StringComparison.Ordinal);
        }

        var lastModified = response.GetHeader("Last-Modified") is { } value ? HttpDate.Parse(value) : HttpDate.Invalid;
        return lastModified != HttpDate.Invalid && HttpDate.Parse(ifRange) == lastModified;
    }
}
