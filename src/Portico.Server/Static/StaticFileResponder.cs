using System.Globalization;
using System.IO.Pipelines;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;
using Microsoft.Win32.SafeHandles;
using Portico.Config.Model;
using Portico.Server.Hosting;

namespace Portico.Server.Static;

/// <summary>Per-request inputs of <see cref="StaticFileResponder.SendAsync"/>.</summary>
/// <param name="ContentType">From <see cref="MimeTypes.Resolve"/>; "" sends no Content-Type (nginx with an empty default_type).</param>
/// <param name="Etag">The <c>etag</c> directive.</param>
/// <param name="IfModifiedSince">The <c>if_modified_since</c> directive.</param>
/// <param name="IsHead">HEAD: headers as for GET, the file is never read.</param>
/// <param name="Ranges">Range is honoured and Accept-Ranges offered; off when gzip will compress the response
/// (nginx's range filter then sees no length and sends the whole file) and for gzip_static's files (nginx 1.22 does
/// not allow ranges on them).</param>
internal readonly record struct StaticFileOptions(
    string ContentType,
    bool Etag = true,
    IfModifiedSinceMode IfModifiedSince = IfModifiedSinceMode.Exact,
    bool IsHead = false,
    bool Ranges = true);

/// <summary>
/// What a responder did. When <see cref="ResponseSent"/> is false the responder only set the
/// status (and, for 416, <c>Content-Range</c>) and the pipeline must send its error page
/// (nginx's special response for 412/416/403/404/500, which <c>error_page</c> may redirect).
/// </summary>
internal readonly record struct StaticSendResult(int StatusCode, long BodyBytesSent, bool ResponseSent);

/// <summary>
/// Serves a regular file as nginx's static handler plus its header filters do (not_modified,
/// range): validators, conditionals (RFC 9110 §13), single and multipart ranges (RFC 9110 §14,
/// §14.6 for multipart/byteranges) with nginx's exact byte layout. Small files come from the
/// cache's memory; larger ones are read in chunks into the response pipe.
/// </summary>
internal sealed class StaticFileResponder
{
    private static readonly StringValues s_bytes = new("bytes");
    private static readonly byte[] s_crlfDashes = "\r\n--"u8.ToArray();

    private const int ChunkSize = 64 * 1024;

    private readonly Func<long> _nextBoundary;
    private long _boundaryCounter;

    /// <param name="boundaryNumbers">
    /// Source of multipart boundary numbers. nginx uses ngx_next_temp_number, a counter from 1
    /// per worker, printed as 20 zero-padded digits (NGX_ATOMIC_T_LEN on 64-bit); the default
    /// does the same. Tests inject a fixed number to compare bytes with nginx.
    /// </param>
    public StaticFileResponder(Func<long>? boundaryNumbers = null)
    {
        _nextBoundary = boundaryNumbers ?? (() => Interlocked.Increment(ref _boundaryCounter));
    }

    /// <summary>The static handler only answers GET and HEAD; nginx sends 405 for the rest.</summary>
    public static bool IsAllowedMethod(string method) => HttpMethods.IsGet(method) || HttpMethods.IsHead(method);

    public async ValueTask<StaticSendResult> SendAsync(HttpContext http, FileLookup file, StaticFileOptions options, CancellationToken cancellationToken)
    {
        if (file.Kind != FileKind.File)
        {
            throw new ArgumentException("Only a regular file can be served; the pipeline maps other kinds to statuses.", nameof(file));
        }

        HttpResponse response = http.Response;
        IHeaderDictionary request = http.Request.Headers;
        string? etag = options.Etag ? file.ETag : null;

        int conditional = Conditionals.Evaluate(
            First(request.IfMatch), First(request.IfNoneMatch), First(request.IfModifiedSince), First(request.IfUnmodifiedSince),
            etag, file.MtimeSeconds, options.IfModifiedSince);

        if (conditional == 412)
        {
            response.StatusCode = StatusCodes.Status412PreconditionFailed;
            return new StaticSendResult(412, 0, false);
        }

        IHeaderDictionary headers = response.Headers;
        if (conditional == 304)
        {
            // ngx_http_not_modified_header_filter: validators stay; type, length and Accept-Ranges go (RFC 9110 §15.4.5).
            response.StatusCode = StatusCodes.Status304NotModified;
            headers.LastModified = file.LastModifiedHeader;
            if (etag is not null)
            {
                headers.ETag = etag;
            }

            return new StaticSendResult(304, 0, true);
        }

        long length = file.Length;
        RangeOutcome outcome = RangeOutcome.Full;
        ByteRange single = default;
        List<ByteRange>? parts = null;
        string? rangeHeader = options.Ranges ? First(request.Range) : null;
        if (rangeHeader is not null)
        {
            string? ifRange = First(request.IfRange);
            if (ifRange is null || Conditionals.IfRangeAllows(ifRange, etag, file.MtimeSeconds))
            {
                outcome = ByteRanges.Parse(rangeHeader, length, out single, out parts);
            }
        }

        if (outcome == RangeOutcome.NotSatisfiable)
        {
            // ngx_http_range_not_satisfiable: the error page keeps Content-Range (RFC 9110 §15.5.17).
            response.StatusCode = StatusCodes.Status416RangeNotSatisfiable;
            headers.ContentRange = "bytes */" + length.ToString(CultureInfo.InvariantCulture);
            return new StaticSendResult(416, 0, false);
        }

        headers.LastModified = file.LastModifiedHeader;
        if (etag is not null)
        {
            headers.ETag = etag;
        }

        if (outcome == RangeOutcome.Full)
        {
            response.StatusCode = StatusCodes.Status200OK;
            if (options.ContentType.Length != 0)
            {
                headers.ContentType = options.ContentType;
            }

            response.ContentLength = length;
            if (options.Ranges)
            {
                headers.AcceptRanges = s_bytes;
            }

            if (options.IsHead || length == 0)
            {
                return new StaticSendResult(200, 0, true);
            }

            await WriteRangeAsync(http, file, 0, length, cancellationToken);
            return new StaticSendResult(200, length, true);
        }

        response.StatusCode = StatusCodes.Status206PartialContent;
        if (parts is null)
        {
            if (options.ContentType.Length != 0)
            {
                headers.ContentType = options.ContentType;
            }

            headers.ContentRange = FormatContentRange(single, length);
            response.ContentLength = single.Length;
            if (options.IsHead)
            {
                return new StaticSendResult(206, 0, true);
            }

            await WriteRangeAsync(http, file, single.Start, single.Length, cancellationToken);
            return new StaticSendResult(206, single.Length, true);
        }

        return await SendMultipartAsync(http, file, parts, options, cancellationToken);
    }

    /// <summary>
    /// ngx_http_range_multipart_header/body: each part is CRLF "--" boundary CRLF
    /// ["Content-Type: " type CRLF] "Content-Range: bytes a-b/len" CRLF CRLF data, and the body
    /// ends with CRLF "--" boundary "--" CRLF. Parts keep the client's order, overlaps included.
    /// </summary>
    private async ValueTask<StaticSendResult> SendMultipartAsync(HttpContext http, FileLookup file, List<ByteRange> parts, StaticFileOptions options, CancellationToken cancellationToken)
    {
        string boundary = _nextBoundary().ToString("D20", CultureInfo.InvariantCulture);
        string partPrefix = options.ContentType.Length != 0
            ? "\r\n--" + boundary + "\r\nContent-Type: " + options.ContentType + "\r\nContent-Range: bytes "
            : "\r\n--" + boundary + "\r\nContent-Range: bytes ";
        byte[] prefix = Encoding.Latin1.GetBytes(partPrefix);
        var partHeaders = new byte[parts.Count][];
        long total = s_crlfDashes.Length + boundary.Length + 4;
        for (int i = 0; i < parts.Count; i++)
        {
            ByteRange part = parts[i];
            partHeaders[i] = Encoding.ASCII.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{part.Start}-{part.End - 1}/{file.Length}\r\n\r\n"));
            total += prefix.Length + partHeaders[i].Length + part.Length;
        }

        HttpResponse response = http.Response;
        response.Headers.ContentType = "multipart/byteranges; boundary=" + boundary;
        response.ContentLength = total;
        if (options.IsHead)
        {
            return new StaticSendResult(206, 0, true);
        }

        PipeWriter body = http.Features.FindRequired<IHttpResponseBodyFeature>().Writer;
        for (int i = 0; i < parts.Count; i++)
        {
            await body.WriteAsync(prefix, cancellationToken);
            await body.WriteAsync(partHeaders[i], cancellationToken);
            await WriteRangeAsync(http, file, parts[i].Start, parts[i].Length, cancellationToken);
        }

        await body.WriteAsync(Encoding.ASCII.GetBytes("\r\n--" + boundary + "--\r\n"), cancellationToken);
        return new StaticSendResult(206, total, true);
    }

    private static async ValueTask WriteRangeAsync(HttpContext http, FileLookup file, long offset, long count, CancellationToken cancellationToken)
    {
        PipeWriter writer = http.Features.FindRequired<IHttpResponseBodyFeature>().Writer;
        if (file.Contents is { } contents)
        {
            await writer.WriteAsync(contents.AsMemory((int)offset, (int)count), cancellationToken);
            return;
        }

        // Kestrel's SendFileAsync falls back to an async FileStream copy, which on Unix hops to
        // the thread pool for every read. Like nginx without aio, read synchronously (a page-cache
        // hit for hot files) straight into the response pipe's buffers, flushing per chunk so
        // the pipe's back-pressure bounds memory whatever the file size.
        using SafeFileHandle handle = File.OpenHandle(file.Path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        while (count > 0)
        {
            Memory<byte> buffer = writer.GetMemory((int)Math.Min(count, ChunkSize));
            int want = (int)Math.Min(buffer.Length, count);
            int read = RandomAccess.Read(handle, buffer.Span[..want], offset);
            if (read == 0)
            {
                // nginx: "file was truncated"; the Content-Length already sent cannot be met.
                throw new IOException($"\"{file.Path}\" was truncated while being sent");
            }

            writer.Advance(read);
            offset += read;
            count -= read;
            FlushResult flushed = await writer.FlushAsync(cancellationToken);
            if (flushed.IsCompleted || flushed.IsCanceled)
            {
                return;
            }
        }
    }

    internal static string FormatContentRange(ByteRange range, long length) =>
        string.Create(CultureInfo.InvariantCulture, $"bytes {range.Start}-{range.End - 1}/{length}");

    /// <summary>nginx keeps the first occurrence of these request headers.</summary>
    private static string? First(StringValues values) => values.Count == 0 ? null : values[0];
}
