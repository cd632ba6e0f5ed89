using Microsoft.AspNetCore.Http;

namespace Portico.Server.Phases;

/// <summary>
/// Writes a status-only response the way ngx_http_special_response_handler does: the
/// built-in page for error and redirect codes, no body for 204/304, Connection: close after
/// the codes that leave the connection in doubt.
/// </summary>
internal static class SpecialResponse
{
    public static async Task WriteAsync(RequestContext ctx, int code)
    {
        var http = ctx.Http;
        var response = http.Response;
        if (response.HasStarted)
        {
            // Headers are gone; the only honest signal left is to cut the connection.
            http.Abort();
            return;
        }

        // The page replaces whatever the handler started, but not the headers that describe the
        // status itself: Location for redirects, Content-Range (bytes */len) for 416.
        var location = response.Headers.Location;
        var contentRange = response.Headers.ContentRange;
        response.Headers.Clear();
        if (code is 301 or 302 or 303 or 307 or 308 && location.Count > 0)
        {
            response.Headers.Location = location;
        }

        if (code == 416 && contentRange.Count > 0)
        {
            response.Headers.ContentRange = contentRange;
        }

        response.StatusCode = code;
        if (StatusText.ClosesConnection(code))
        {
            response.Headers.Connection = "close";
        }

        if (code == 204 || code == 304 || code < 300 && code >= 100)
        {
            if (code != 204 && code != 304)
            {
                response.ContentLength = 0;
            }

            return;
        }

        var body = StatusText.HasPage(code) ? StatusText.PageBytes(code, ctx.Compiled?.ErrorPageSignature ?? ServerInfo.NameAndVersion) : [];
        response.ContentType = "text/html";
        response.ContentLength = body.Length;
        if (!HttpMethods.IsHead(http.Request.Method) && body.Length > 0)
        {
            await response.Body.WriteAsync(body, http.RequestAborted).ConfigureAwait(false);
            ctx.BodyBytesSent += body.Length;
        }
    }
}
