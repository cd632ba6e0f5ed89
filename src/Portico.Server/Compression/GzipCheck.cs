using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Portico.Config.Model;
using Portico.Server.Phases;
using Portico.Server.Static;

namespace Portico.Server.Compression;

/// <summary>
/// Whether this client may be sent gzip (ngx_http_gzip_ok, shared by gzip and gzip_static): it accepts gzip, its
/// HTTP version is at least <c>gzip_http_version</c>, a request that came through a proxy (<c>Via</c>) passes
/// <c>gzip_proxied</c>, and its User-Agent is not refused by <c>gzip_disable</c>. Tested once per request, with the
/// settings of the location that asks first, as nginx caches it in r-&gt;gzip_ok.
/// </summary>
internal static class GzipCheck
{
    public static bool Ok(RequestContext ctx, GzipSettings settings, Regex[] disable, IHeaderDictionary responseHeaders)
    {
        if (ctx.GzipTested)
        {
            return ctx.GzipOk;
        }

        ctx.GzipTested = true;
        ctx.GzipOk = Test(ctx, settings, disable, responseHeaders);
        return ctx.GzipOk;
    }

    /// <summary>The test itself, not kept.</summary>
    public static bool Test(RequestContext ctx, GzipSettings settings, Regex[] disable, IHeaderDictionary responseHeaders)
    {
        var request = ctx.Http.Request;
        var headers = request.Headers;
        if (First(headers.AcceptEncoding) is not { } acceptEncoding || !AcceptEncoding.AllowsGzip(acceptEncoding))
        {
            return false;
        }

        var userAgent = First(headers.UserAgent);
        if (settings.DisableMsie6 && userAgent is not null && IsMsie6(userAgent))
        {
            return false;
        }

        if (!settings.Http10 && !HttpProtocol.IsHttp11(request.Protocol) && !HttpProtocol.IsHttp2(request.Protocol) && !HttpProtocol.IsHttp3(request.Protocol))
        {
            return false;
        }

        if (headers.Via.Count > 0 && !ProxiedAllowed(settings.Proxied, headers, responseHeaders, lastModifiedHeader: ctx.Upstream is not null))
        {
            return false;
        }

        if (userAgent is not null)
        {
            foreach (var regex in disable)
            {
                if (regex.IsMatch(userAgent))
                {
                    return false;
                }
            }
        }

        return true;
    }

    /// <summary>gzip_proxied, for a request with <c>Via</c>: what the response's caching headers allow.</summary>
    /// <param name="lastModifiedHeader">Last-Modified is a header of its own only when a backend sent it: nginx's static
    /// handlers set a time, written as a header after this test, so <c>no_last_modified</c> never refuses a file.</param>
    private static bool ProxiedAllowed(GzipProxied p, IHeaderDictionary request, IHeaderDictionary response, bool lastModifiedHeader)
    {
        if ((p & GzipProxied.Off) != 0)
        {
            return false;
        }

        if ((p & GzipProxied.Any) != 0)
        {
            return true;
        }

        if ((p & GzipProxied.Auth) != 0 && request.Authorization.Count > 0)
        {
            return true;
        }

        if (First(response.Expires) is { } expires)
        {
            if ((p & GzipProxied.Expired) == 0)
            {
                return false;
            }

            var at = HttpDate.Parse(expires);
            if (at == HttpDate.Invalid)
            {
                return false;
            }

            var now = First(response.Date) is { } date ? HttpDate.Parse(date) : DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            return now != HttpDate.Invalid && at < now;
        }

        var cacheControl = response.CacheControl;
        if (cacheControl.Count > 0)
        {
            return ((p & GzipProxied.NoCache) != 0 && HeaderTokens.Contains(cacheControl, "no-cache"))
                || ((p & GzipProxied.NoStore) != 0 && HeaderTokens.Contains(cacheControl, "no-store"))
                || ((p & GzipProxied.Private) != 0 && HeaderTokens.Contains(cacheControl, "private"));
        }

        if ((p & GzipProxied.NoLastModified) != 0 && lastModifiedHeader && response.LastModified.Count > 0)
        {
            return false;
        }

        return (p & GzipProxied.NoEtag) == 0 || response.ETag.Count == 0;
    }

    /// <summary>nginx's <c>msie6</c> (ngx_http_process_user_agent): "MSIE 4.", "MSIE 5." or "MSIE 6." without "SV1",
    /// unless the agent is Opera.</summary>
    internal static bool IsMsie6(string userAgent)
    {
        if (userAgent.Contains("Opera", StringComparison.Ordinal))
        {
            return false;
        }

        var msie = userAgent.IndexOf("MSIE ", StringComparison.Ordinal);
        if (msie < 0 || msie + 7 >= userAgent.Length || userAgent[msie + 6] != '.')
        {
            return false;
        }

        return userAgent[msie + 5] switch
        {
            '4' or '5' => true,
            '6' => !userAgent.AsSpan(msie + 8).Contains("SV1", StringComparison.Ordinal),
            _ => false,
        };
    }

    private static string? First(StringValues values) => values.Count == 0 ? null : values[0];
}
