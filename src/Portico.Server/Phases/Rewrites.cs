using Microsoft.AspNetCore.Http;

namespace Portico.Server.Phases;

/// <summary>
/// Runs a level's rewrite-module program in file order: <c>set</c> and <c>return</c>
/// (https://nginx.org/en/docs/http/ngx_http_rewrite_module.html). A <c>return</c> ends it.
/// </summary>
internal static class Rewrites
{
    public static PhaseOutcome Run(RequestContext ctx, IReadOnlyList<CompiledRewrite> program)
    {
        // Indexed: an interface's enumerator is an allocation per call, and this runs twice per request.
        for (var i = 0; i < program.Count; i++)
        {
            switch (program[i])
            {
                case CompiledReturn ret:
                    return Return(ctx, ret);
                case CompiledSet set:
                    // Evaluated now: the Debian snippet's "set $path_info $fastcgi_path_info" keeps the path info
                    // that try_files, a later phase, resets (nginx ticket 321).
                    (ctx.UserVariables ??= new Dictionary<string, string>(StringComparer.Ordinal))[set.Name] = set.Value.Evaluate(ctx);
                    break;
            }
        }

        return PhaseOutcome.Continue;
    }

    private static PhaseOutcome Return(RequestContext ctx, CompiledReturn ret)
    {
        if (ret.Code == 444)
        {
            // nginx's "close the connection without a response".
            return new PhaseOutcome(PhaseOutcomeKind.Close, 444);
        }

        if (ret.Text is null)
        {
            return PhaseOutcome.WithStatus(ret.Code);
        }

        var text = ret.Text.Evaluate(ctx);
        if (ret.Code is 301 or 302 or 303 or 307 or 308)
        {
            ctx.Http.Response.Headers.Location = text;
            return PhaseOutcome.WithStatus(ret.Code);
        }

        return new PhaseOutcome(PhaseOutcomeKind.Text, ret.Code, text);
    }

    /// <summary>Sends <c>return CODE TEXT</c>: the text as the body.</summary>
    public static async Task<PhaseOutcome> WriteTextAsync(RequestContext ctx, int code, string text)
    {
        var response = ctx.Http.Response;
        response.StatusCode = code;
        // ngx_http_send_response types the text like a file: by $uri's extension, else default_type.
        response.ContentType = StaticContent.KeptContentType(ctx) ?? ctx.Compiled!.MimeTypes.Resolve(ctx.Uri);
        var body = System.Text.Encoding.UTF8.GetBytes(text);
        response.ContentLength = body.Length;
        if (!HttpMethods.IsHead(ctx.Http.Request.Method))
        {
            await response.Body.WriteAsync(body, ctx.Http.RequestAborted).ConfigureAwait(false);
            ctx.BodyBytesSent += body.Length;
        }

        return PhaseOutcome.Done;
    }
}
