using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Portico.Config.Model;
using Portico.Server.Phases;

namespace Portico.Server.Compression;

/// <summary>
/// ngx_http_gzip_header_filter: runs last in the response's header work, after add_header, expires and charset, as
/// nginx's filter order has it. A 200, 403 or 404 with no Content-Encoding of its own, a Content-Length (when known)
/// of at least <c>gzip_min_length</c> and a type in <c>gzip_types</c> is "considered" (it gets <c>Vary</c> under
/// <c>gzip_vary</c>); when the client may have gzip too, it is compressed: Content-Encoding is set, Content-Length
/// and Accept-Ranges go, and a strong ETag becomes weak (RFC 9110 §8.8.1: the bytes are no longer the file's).
/// </summary>
internal static class GzipFilter
{
    public static void OnHeaders(RequestContext ctx, CompiledSettings settings, int code, IHeaderDictionary headers)
    {
        var gzip = settings.Source.Gzip;
        if (code == 206 && ctx.GzipConsideredWhole)
        {
            // nginx's filter saw the whole file's 200 before the range filter made it a 206.
            ctx.GzipVary = true;
        }

        if (!gzip.Enabled || ctx.Gzip is not { } body
            || !Considers(gzip, code, headers.ContentEncoding, headers.ContentLength, headers.ContentType))
        {
            return;
        }

        ctx.GzipVary = true;
        if (!body.CanCompress || !GzipCheck.Ok(ctx, gzip, settings.GzipDisable, headers))
        {
            return;
        }

        body.DeclaredLength = headers.ContentLength;
        headers.ContentEncoding = "gzip";
        headers.ContentLength = null;
        headers.AcceptRanges = default;
        WeakenEtag(headers);
        if (!HttpProtocol.IsHttp11(ctx.Http.Request.Protocol))
        {
            // An HTTP/1.0 response without a length ends with the connection (gzip_http_version 1.0): nginx says close.
            headers.Remove("Keep-Alive");
            headers.Connection = "close";
            ctx.KeptAliveFor = null;
        }

        body.Compress(gzip.CompLevel);
    }

    /// <summary>
    /// Whether the filter will compress a 200 of this type and length, asked by the static handler for a request with
    /// Range: it then serves the whole file, since nginx's gzip filter runs before its range filter and leaves it no
    /// length to cut.
    /// </summary>
    public static bool WillCompress(RequestContext ctx, CompiledSettings settings, string contentType, long length)
    {
        var gzip = settings.Source.Gzip;
        var code = ctx.StatusOverride > 0 ? ctx.StatusOverride : 200;
        ctx.GzipConsideredWhole = gzip.Enabled && ctx.Gzip is { Undecided: true } && Considers(gzip, code, default, length, contentType);
        if (!ctx.GzipConsideredWhole)
        {
            return false;
        }

        // Behind a proxy, gzip_proxied reads the response's Expires and Cache-Control, which expires and add_header
        // set only when the head is written: the answer is not kept for the header filter.
        return ctx.Http.Request.Headers.Via.Count > 0
            ? GzipCheck.Test(ctx, gzip, settings.GzipDisable, ctx.Http.Response.Headers)
            : GzipCheck.Ok(ctx, gzip, settings.GzipDisable, ctx.Http.Response.Headers);
    }

    // A HEAD is considered too: nginx marks it header-only after the filters, so its head says what a GET would get.
    private static bool Considers(GzipSettings gzip, int code, StringValues contentEncoding, long? contentLength, StringValues contentType) =>
        code is 200 or 403 or 404
        && string.IsNullOrEmpty(contentEncoding.ToString())
        && (contentLength is not { } length || length >= gzip.MinLength)
        && TypeMatches(gzip.Types, contentType.ToString());

    /// <summary>ngx_http_test_content_type: the type up to a <c>;</c> that starts a charset, in lower case, looked up
    /// in <c>gzip_types</c> (text/html always in; <c>*</c> takes any response, one without a type too).</summary>
    internal static bool TypeMatches(IReadOnlyList<string>? types, string contentType)
    {
        if (types is null)
        {
            return true;
        }

        if (contentType.Length == 0)
        {
            return false;
        }

        var key = TypeKey(contentType);
        if (key.Equals("text/html", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        foreach (var type in types)
        {
            if (key.Equals(type, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    // ngx_http_upstream_copy_content_type / ngx_http_set_content_type: content_type_len ends before "; charset=".
    private static ReadOnlySpan<char> TypeKey(string contentType)
    {
        var span = contentType.AsSpan();
        for (var i = 0; i < span.Length; i++)
        {
            if (span[i] != ';')
            {
                continue;
            }

            var rest = span[(i + 1)..].TrimStart(' ');
            if (rest.StartsWith("charset=", StringComparison.OrdinalIgnoreCase))
            {
                return span[..i];
            }
        }

        return span;
    }

    /// <summary>ngx_http_weak_etag: <c>"x"</c> becomes <c>W/"x"</c>; a value that is not a quoted tag is dropped.</summary>
    private static void WeakenEtag(IHeaderDictionary headers)
    {
        var etag = headers.ETag.ToString();
        if (etag.Length == 0 || etag.StartsWith("W/", StringComparison.Ordinal) && etag.Length > 2)
        {
            return;
        }

        headers.ETag = etag[0] == '"' ? "W/" + etag : default;
    }
}
