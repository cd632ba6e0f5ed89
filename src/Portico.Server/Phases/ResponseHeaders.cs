using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Portico.Config.Model;
using Portico.Server.Hosting;

namespace Portico.Server.Phases;

/// <summary>
/// Header work done once, just before the response head is written, so it sees the final
/// status and location: the error_page status override, nginx's reason phrase, <c>Server</c>,
/// absolute <c>Location</c>, <c>charset</c>, <c>add_header</c> and <c>expires</c>.
/// </summary>
internal static class ResponseHeaders
{
    public static readonly Func<object, Task> OnStartingCallback = OnStarting;

    // https://nginx.org/en/docs/http/ngx_http_headers_module.html#add_header: without "always",
    // only these codes get the headers (and expires).
    private static bool IsHeaderCode(int code) => code is 200 or 201 or 204 or 206 or 301 or 302 or 303 or 304 or 307 or 308;

    private static Task OnStarting(object state)
    {
        var ctx = (RequestContext)state;
        var response = ctx.Http.Response;
        if (ctx.StatusOverride > 0 && response.StatusCode == 200)
        {
            response.StatusCode = ctx.StatusOverride;
        }

        var code = response.StatusCode;
        var reason = StatusText.Reason(code);
        if (reason.Length > 0)
        {
            var feature = ctx.Http.Features.Find<IHttpResponseFeature>();
            if (feature is not null)
            {
                feature.ReasonPhrase = reason;
            }
        }

        var settings = ctx.Compiled!;
        var headers = response.Headers;
        headers.Server = settings.ServerHeader;
        KeepAlive(ctx, settings.Source, headers);

        // ngx_http_header_filter drops Last-Modified unless the status is 200, 206 or 304, and
        // the range filter offers Accept-Ranges only on 200: an error_page served from a file
        // (404 with the page's body) carries neither.
        if (code is not (200 or 206 or 304))
        {
            headers.LastModified = default;
            headers.AcceptRanges = default;
        }

        var location = headers.Location;
        if (!ctx.KeepRelativeLocation && location.Count == 1 && location[0] is { Length: > 0 } l && l[0] == '/')
        {
            headers.Location = AbsoluteLocation(ctx, l);
        }

        if (settings.Source.Charset is { } charset)
        {
            Charset(headers, code, charset, settings.Source.CharsetTypes);
        }

        var headerCode = IsHeaderCode(code);
        if (settings.Source.Expires is { } expires && headerCode)
        {
            ApplyExpires(ctx, expires, headers);
        }

        foreach (var header in settings.AddHeaders)
        {
            if (header.Always || headerCode)
            {
                var value = header.Value.Evaluate(ctx);
                if (value.Length > 0)
                {
                    headers.Append(header.Name, value);
                }
            }
        }

        // The gzip filter comes after the headers and charset filters in nginx's chain; Vary is the header filter's.
        Compression.GzipFilter.OnHeaders(ctx, settings, code, headers);
        if (ctx.GzipVary && settings.Source.Gzip.Vary)
        {
            headers.Append("Vary", "Accept-Encoding");
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// <c>charset</c> (ngx_http_charset_header_filter, without recoding): a Content-Type of <c>text/html</c> or one of
    /// <c>charset_types</c> that names no charset gets <c>; charset=X</c>. Not on a 301 or 302 (nginx: a browser would
    /// take it for the next page's), nor on a response without a type.
    /// </summary>
    private static void Charset(IHeaderDictionary headers, int code, string charset, IReadOnlyList<string> types)
    {
        if (code is 301 or 302 || headers.ContentType.ToString() is not { Length: > 0 } type)
        {
            return;
        }

        var semicolon = type.IndexOf(';', StringComparison.Ordinal);
        if (semicolon >= 0 && type.AsSpan(semicolon).Contains("charset=", StringComparison.OrdinalIgnoreCase))
        {
            return;
        }

        // nginx looks the whole type up, parameters and all (content_type_len stops only at a charset): a type with
        // other parameters matches only "*".
        if (types.Contains("*") || (semicolon < 0 && (type.Equals("text/html", StringComparison.OrdinalIgnoreCase) || types.Contains(type.ToLowerInvariant()))))
        {
            headers.ContentType = type + "; charset=" + charset;
        }
    }

    /// <summary>
    /// The request's location decides whether its connection is kept (ngx_http_update_location_config): not with
    /// <c>keepalive_timeout 0</c>, nor once the connection served <c>keepalive_requests</c> requests, nor once it is
    /// older than <c>keepalive_time</c>; Kestrel closes the connection after a response that says
    /// <c>Connection: close</c>. A response on a connection that is kept tells its timeout when
    /// <c>keepalive_timeout</c> has a second parameter (ngx_http_header_filter: <c>Keep-Alive: timeout=N</c>).
    /// Kestrel has one idle timeout for every connection, the config's longest; a shorter one is enforced after the
    /// request (<see cref="RequestContext.KeptAliveFor"/>).
    /// </summary>
    private static void KeepAlive(RequestContext ctx, LocationSettings settings, IHeaderDictionary headers)
    {
        if (settings.KeepaliveTimeout == TimeSpan.Zero
            || ctx.ConnectionRequests >= settings.KeepaliveRequests
            || (ctx.ConnectionTimestamp != 0 && Stopwatch.GetElapsedTime(ctx.ConnectionTimestamp, Transport.LoopClock.GetTimestamp()) > settings.KeepaliveTime))
        {
            headers.Connection = "close";
            return;
        }

        if (settings.KeepaliveHeaderTimeout is { } header)
        {
            if (KeptAlive(ctx.Http.Request, headers))
            {
                ctx.KeptAliveFor = settings.KeepaliveTimeout;
                headers["Keep-Alive"] = "timeout=" + ((long)header.TotalSeconds).ToString(CultureInfo.InvariantCulture);
            }
        }
        else if (settings.KeepaliveTimeout < ctx.IdleLimit && KeptAlive(ctx.Http.Request, headers))
        {
            // A connection the client or the protocol version ends anyway arms nothing.
            ctx.KeptAliveFor = settings.KeepaliveTimeout;
        }
    }

    // HTTP/1.1 unless either side says close; HTTP/1.0 only when the client asked for keep-alive (RFC 9112 9.3).
    private static bool KeptAlive(HttpRequest request, IHeaderDictionary responseHeaders)
    {
        if (HeaderTokens.Contains(responseHeaders.Connection, "close"))
        {
            return false;
        }

        var connection = request.Headers.Connection;
        return HttpProtocol.IsHttp11(request.Protocol)
            ? !HeaderTokens.Contains(connection, "close")
            : HttpProtocol.IsHttp10(request.Protocol) && HeaderTokens.Contains(connection, "keep-alive");
    }

    /// <summary>
    /// nginx's absolute_redirect: a relative Location becomes scheme://host[:port]/path, with the
    /// Host header's name (server_name_in_redirect off) and the local port unless it's 80.
    /// </summary>
    private static string AbsoluteLocation(RequestContext ctx, string path)
    {
        var port = ctx.Addresses.LocalPort;
        var host = ctx.Host.Length > 0 ? ctx.Host : ctx.Server.PrimaryName;
        return port == 80 || port == 0 ? $"http://{host}{path}" : $"http://{host}:{port.ToString(CultureInfo.InvariantCulture)}{path}";
    }

    // https://nginx.org/en/docs/http/ngx_http_headers_module.html#expires
    private static void ApplyExpires(RequestContext ctx, ExpiresConfig expires, IHeaderDictionary headers)
    {
        switch (expires.Mode)
        {
            case ExpiresMode.Off:
                return;
            case ExpiresMode.Epoch:
                headers.Expires = "Thu, 01 Jan 1970 00:00:01 GMT";
                headers.CacheControl = "no-cache";
                return;
            case ExpiresMode.Max:
                headers.Expires = "Thu, 31 Dec 2037 23:55:55 GMT";
                headers.CacheControl = "max-age=315360000";
                return;
        }

        var now = ctx.StartTime;
        DateTimeOffset at;
        switch (expires.Mode)
        {
            case ExpiresMode.Modified:
                at = (ctx.ContentLastModified ?? now) + expires.Time;
                break;
            case ExpiresMode.Daily:
                var today = new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero) + expires.Time;
                at = today > now ? today : today.AddDays(1);
                break;
            default:
                at = now + expires.Time;
                break;
        }

        headers.Expires = at.ToString("R", CultureInfo.InvariantCulture);
        var maxAge = (long)Math.Floor((at - now).TotalSeconds);
        headers.CacheControl = maxAge <= 0 && expires.Mode == ExpiresMode.Access && expires.Time < TimeSpan.Zero
            ? "no-cache"
            : maxAge < 0 ? "no-cache" : "max-age=" + maxAge.ToString(CultureInfo.InvariantCulture);
    }
}
