using Microsoft.AspNetCore.Http;

namespace Portico.Server.Phases;

/// <summary>
/// <c>error_page</c> (https://nginx.org/en/docs/http/ngx_http_core_module.html#error_page):
/// an internal redirect to a URI or named location, or an external redirect to a URL.
/// </summary>
internal static class ErrorPages
{
    public static PhaseOutcome? TryRedirect(RequestContext ctx, int status)
    {
        var settings = ctx.Compiled!;
        if (settings.ErrorPages.Count == 0 || (ctx.ErrorPageUsed && !settings.Source.RecursiveErrorPages))
        {
            return null;
        }

        if (!settings.ErrorPages.TryGetValue(status, out var page))
        {
            return null;
        }

        ctx.ErrorPageUsed = true;
        var target = page.Uri.Evaluate(ctx);
        var response = page.Config.Response;
        if (target.StartsWith('/') || target.StartsWith('@'))
        {
            // The original code stays unless "=CODE" overrides it; a bare "=" lets the target decide.
            ctx.StatusOverride = response is null ? status : response.Value;
            if (!HttpMethods.IsHead(ctx.Method))
            {
                ctx.Method = HttpMethods.Get;
            }

            // The error page is a new response; the client's validators and ranges were for the original.
            var headers = ctx.Http.Request.Headers;
            headers.Remove("If-None-Match");
            headers.Remove("If-Modified-Since");
            headers.Remove("If-Match");
            headers.Remove("If-Unmodified-Since");
            headers.Remove("Range");
            headers.Remove("If-Range");
            ctx.Http.Response.Headers.Location = default;
            if (target.StartsWith('@'))
            {
                return PhaseOutcome.Named(target);
            }

            var query = target.IndexOf('?');
            return query < 0
                ? PhaseOutcome.Redirect(target, null)
                : PhaseOutcome.Redirect(target[..query], target[(query + 1)..]);
        }

        // A URL: redirect the client; 302 unless "=301" (or another redirect code) was given.
        ctx.Http.Response.Headers.Location = target;
        var code = response is 301 or 302 or 303 or 307 or 308 ? response.Value : 302;
        return new PhaseOutcome(PhaseOutcomeKind.FinalStatus, code);
    }
}
