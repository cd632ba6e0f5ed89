using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Portico.Server.Hosting;
using Portico.Server.Routing;

namespace Portico.Server.Phases;

/// <summary>
/// The one terminal request delegate: pick the virtual server, normalize the URI, then run
/// server rewrite -> find location -> rewrite -> content, looping on internal redirects (at
/// most 10, as nginx), and finally hand the request to the access log.
/// </summary>
internal sealed class RequestPipeline
{
    // nginx: NGX_HTTP_MAX_URI_CHANGES + 1 internal redirects end in a 500.
    private const int MaxInternalRedirects = 10;

    private readonly ConfigSnapshotHolder _snapshots;

    public RequestPipeline(ConfigSnapshotHolder snapshots) => _snapshots = snapshots;

    public async Task HandleAsync(HttpContext http)
    {
        var snapshot = _snapshots.Current;
        var connection = http.Features.Find<ClientConnection>();
        var serial = connection?.Serial ?? 0;
        var requests = connection?.NextRequest() ?? 1;

        var addresses = connection?.Addresses ?? ConnectionAddresses.From(http.Connection);
        var rawHost = http.Request.Headers.Host.ToString();
        string host;
        var hostValid = connection is null ? HostNormalizer.TryNormalize(rawHost, out host) : connection.TryNormalizeHost(rawHost, out host);
        var names = connection is null ? snapshot.Servers.FindEndpoint(addresses.LocalAddress, addresses.LocalPort) : connection.ServerNames(snapshot.Servers);
        Match? serverMatch = null;
        string?[]? serverGroupNames = null;
        var server = names?.Find(host, out serverMatch, out serverGroupNames) ?? snapshot.FallbackServer;

        var ctx = new RequestContext(http, server.Config, serial, requests)
        {
            Addresses = addresses,
            Worker = connection?.Worker ?? -1,
            ConnectionTimestamp = connection?.OpenedTimestamp ?? 0,
            IdleLimit = connection?.IdleLimit ?? TimeSpan.MaxValue,
            HalfClose = connection?.HalfClose,
            Method = http.Request.Method,
            RequestUri = http.Features.FindRequired<IHttpRequestFeature>().RawTarget,
            Host = host.Length > 0 ? host : server.ServerNameVariable,
            Compiled = server.Settings,
            Settings = server.Settings.Source,
        };
        if (serverMatch is not null)
        {
            SetCaptures(ctx, serverMatch, serverGroupNames!);
        }

        // The server's, until a location is chosen (a request refused before one still answers within it).
        connection?.UseSendTimeout(server.Settings.Source.SendTimeout);

        http.Response.OnStarting(ResponseHeaders.OnStartingCallback, ctx);
        if (snapshot.UsesGzip)
        {
            var gzip = new Compression.GzipResponseBody(http.Features.FindRequired<IHttpResponseBodyFeature>(), HttpMethods.IsHead(http.Request.Method), http.Abort);
            http.Features.Set<IHttpResponseBodyFeature>(gzip);
            ctx.Gzip = gzip.BodyWriter;
        }

        try
        {
            var outcome = hostValid ? Start(ctx) : PhaseOutcome.WithStatus(400);
            if (outcome.Kind == PhaseOutcomeKind.Continue)
            {
                outcome = Rewrites.Run(ctx, server.Rewrites);
            }

            // The location phases, looping on internal redirects. They run here, not in a method of their own,
            // so a request waiting for its content handler is one async frame to resume, not two.
            RuntimeLocation? named = null;
            var finished = false;
            while (true)
            {
                switch (outcome.Kind)
                {
                    case PhaseOutcomeKind.Done:
                        finished = true;
                        break;
                    case PhaseOutcomeKind.Status:
                        var next = ErrorPages.TryRedirect(ctx, outcome.Status);
                        if (next is { } redirect)
                        {
                            outcome = redirect;
                            continue;
                        }

                        await SpecialResponse.WriteAsync(ctx, outcome.Status).ConfigureAwait(false);
                        finished = true;
                        break;
                    case PhaseOutcomeKind.FinalStatus:
                        await SpecialResponse.WriteAsync(ctx, outcome.Status).ConfigureAwait(false);
                        finished = true;
                        break;
                    case PhaseOutcomeKind.Text:
                        await Rewrites.WriteTextAsync(ctx, outcome.Status, outcome.Uri!).ConfigureAwait(false);
                        finished = true;
                        break;
                    case PhaseOutcomeKind.Close:
                        ctx.Http.Response.StatusCode = 444;
                        ctx.Http.Abort();
                        finished = true;
                        break;
                    case PhaseOutcomeKind.Redirect:
                    case PhaseOutcomeKind.Named:
                        if (++ctx.InternalRedirects > MaxInternalRedirects)
                        {
                            snapshot.Logs.ErrorLog.Write(Portico.Config.LogLevel.Error, ctx, $"rewrite or internal redirection cycle while internally redirecting to \"{outcome.Uri}\"");
                            await SpecialResponse.WriteAsync(ctx, 500).ConfigureAwait(false);
                            finished = true;
                            break;
                        }

                        ctx.IsInternal = true;
                        if (outcome.Kind == PhaseOutcomeKind.Named)
                        {
                            if (!server.Named.TryGetValue(outcome.Uri!, out named))
                            {
                                snapshot.Logs.ErrorLog.Write(Portico.Config.LogLevel.Error, ctx, $"could not find named location \"{outcome.Uri}\"");
                                outcome = PhaseOutcome.WithStatus(500);
                                continue;
                            }
                        }
                        else
                        {
                            ctx.Uri = outcome.Uri!;
                            if (outcome.Args is not null)
                            {
                                ctx.Args = outcome.Args;
                            }
                        }

                        break;
                    case PhaseOutcomeKind.Continue:
                        break;
                }

                if (finished)
                {
                    break;
                }

                // find location
                RuntimeLocation? location;
                if (named is not null)
                {
                    location = named;
                    named = null;
                }
                else
                {
                    LocationMatchResult found;
                    try
                    {
                        found = server.Locations.Find(ctx.Uri);
                    }
                    catch (RegexMatchTimeoutException)
                    {
                        outcome = PhaseOutcome.WithStatus(500);
                        continue;
                    }

                    location = found.Location;
                    if (found.Match is not null)
                    {
                        SetCaptures(ctx, found.Match, found.GroupNames!);
                    }
                    else if (found.Literal is { } whole)
                    {
                        ctx.Captures = [whole];
                    }
                }

                var settings = location?.Settings ?? server.Settings;
                ctx.Location = location?.Config;
                ctx.Compiled = settings;
                ctx.Settings = settings.Source;
                connection?.UseSendTimeout(settings.Source.SendTimeout);
                if (location is not null && settings.Source.Internal && !ctx.IsInternal)
                {
                    outcome = PhaseOutcome.WithStatus(404);
                    continue;
                }

                // https://nginx.org/en/docs/http/ngx_http_core_module.html#client_max_body_size:
                // checked against Content-Length as soon as the location is known.
                var limit = settings.Source.ClientMaxBodySize;
                if (limit > 0 && ctx.Http.Request.ContentLength > limit && !ctx.IsInternal)
                {
                    snapshot.Logs.ErrorLog.Write(Portico.Config.LogLevel.Error, ctx, $"client intended to send too large body: {ctx.Http.Request.ContentLength} bytes");
                    outcome = PhaseOutcome.WithStatus(413);
                    continue;
                }

                // rewrite phase, access phase, then content
                outcome = location is null ? PhaseOutcome.Continue : Rewrites.Run(ctx, location.Rewrites);
                if (outcome.Kind == PhaseOutcomeKind.Continue && settings.Source.Access.Count > 0 && !AccessPhase.Allows(settings.Source.Access, ctx.Addresses.RemoteAddress))
                {
                    // After the rewrite phase, as in nginx: a location's return answers before its deny.
                    snapshot.Logs.ErrorLog.Write(Portico.Config.LogLevel.Error, ctx, "access forbidden by rule");
                    outcome = PhaseOutcome.WithStatus(403);
                    continue;
                }

                if (outcome.Kind == PhaseOutcomeKind.Continue && settings.TryFiles is { } tries)
                {
                    outcome = StaticContent.TryFiles(ctx, snapshot, location, tries, settings.TryFilesFallback!);
                }

                if (outcome.Kind == PhaseOutcomeKind.Continue)
                {
                    outcome = location is not null && settings.Source.FastCgi?.Pass is not null
                        ? await FastCgi.FastCgiContent.HandleAsync(ctx, snapshot, location).ConfigureAwait(false)
                        : await StaticContent.HandleAsync(ctx, snapshot, location).ConfigureAwait(false);
                }
            }

            // nginx logs after the response is sent. A response whose head has not gone out yet
            // (HEAD, 204, 304) is completed first: that runs the OnStarting header work (status
            // override, Server, add_header) and lets Kestrel add Date and Content-Length, so
            // $status, $sent_http_* and $bytes_sent describe what the client got.
            // The gzip trailer, too, goes out here (Kestrel's own completion would not write it).
            if (!http.Response.HasStarted || (ctx.Gzip is { Compressing: true } && !http.RequestAborted.IsCancellationRequested))
            {
                await http.Response.CompleteAsync().ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested || ctx.HalfClose is { Closed.IsCancellationRequested: true })
        {
            // The client went away; nginx logs 499 for this when nothing was sent yet (ngx_http_terminate_request),
            // and the status sent otherwise.
            if (!http.Response.HasStarted)
            {
                http.Response.StatusCode = 499;
            }

            // A FIN cancelled the request (IClientHalfClose) with the connection still open: close it, sending
            // nothing more, as nginx does.
            http.Abort();
        }
        catch (BadHttpRequestException ex)
        {
            await RejectBodyAsync(ctx, snapshot, ex).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A failure inside a handler (a file truncated while sent, a bug) must cost one
            // request, never the worker: log it as nginx would and answer 500 if nothing was sent.
            snapshot.Logs.ErrorLog.Write(Portico.Config.LogLevel.Alert, ctx, $"{ex.GetType().Name}: {ex.Message}");
            if (http.Response.HasStarted)
            {
                http.Abort();
            }
            else
            {
                await SpecialResponse.WriteAsync(ctx, 500).ConfigureAwait(false);
            }
        }
        finally
        {
            if (connection?.SendTimedOut == true)
            {
                // ngx_http_writer: logged at info, with the errno text nginx prints for ETIMEDOUT.
                snapshot.Logs.ErrorLog.Write(Portico.Config.LogLevel.Info, ctx, "client timed out (110: Connection timed out) while sending response to client");
            }

            if (ctx.Gzip is { Compressing: true } compressed)
            {
                // nginx counts what went to the client: the compressed body.
                ctx.BodyBytesSent = compressed.BytesOut;
            }

            snapshot.Logs.Log(ctx);

            // Frees the deflater of a response that did not finish; nothing writes after this point.
            ctx.Gzip?.Dispose();
            if (ctx.KeptAliveFor is { } idle)
            {
                connection?.CloseWhenIdleFor(idle);
            }
        }
    }

    /// <summary>
    /// Kestrel's verdict on a request body a handler was reading: it ended early (the client's FIN, or a chunked
    /// body cut short), a chunk was malformed, or it came too slowly. nginx answers a malformed body with its
    /// 400 page ("client sent invalid chunked body"), and a client that closed or stalled with nothing at all: it
    /// logs 400 or 408 and closes the connection ("client prematurely closed connection while reading client
    /// request body", ngx_http_read_client_request_body).
    /// </summary>
    private static async Task RejectBodyAsync(RequestContext ctx, RuntimeConfig snapshot, BadHttpRequestException ex)
    {
        var http = ctx.Http;
        var ended = ex.Message.StartsWith(FastCgi.RequestBodyBuffer.UnexpectedEnd, StringComparison.Ordinal);
        var timedOut = ex.StatusCode == StatusCodes.Status408RequestTimeout;
        if (!timedOut)
        {
            // A body read that timed out (client_body_timeout) is only its 408 in the access log: nginx 1.22 writes no
            // error-log line for it, unlike a send that times out (ClientBodyTimeoutTests, side by side).
            var text = ended ? "client prematurely closed connection while reading client request body"
                : "client sent invalid request body: " + ex.Message.TrimEnd('.');
            snapshot.Logs.ErrorLog.Write(Portico.Config.LogLevel.Info, ctx, text);
        }
        if (http.Response.HasStarted)
        {
            http.Abort();
            return;
        }

        if (ended || timedOut)
        {
            http.Response.StatusCode = ex.StatusCode;
            http.Abort();
            return;
        }

        http.Response.Clear();
        await SpecialResponse.WriteAsync(ctx, ex.StatusCode).ConfigureAwait(false);
    }

    private static PhaseOutcome Start(RequestContext ctx)
    {
        var target = ctx.RequestUri;
        var pathStart = 0;
        if (target.Length > 0 && target[0] != '/')
        {
            // absolute-form (RFC 9112 §3.2.2): http://host/path?query
            var schemeEnd = target.IndexOf("://", StringComparison.Ordinal);
            if (schemeEnd < 0)
            {
                return PhaseOutcome.WithStatus(400);
            }

            pathStart = target.IndexOf('/', schemeEnd + 3);
            if (pathStart < 0)
            {
                ctx.Uri = "/";
                return PhaseOutcome.Continue;
            }
        }

        var query = target.IndexOf('?', pathStart);
        var path = query < 0 ? target.AsSpan(pathStart) : target.AsSpan(pathStart, query - pathStart);
        ctx.Args = query < 0 ? "" : target[(query + 1)..];
        if (!UriNormalizer.TryNormalize(path, ctx.Settings.MergeSlashes, out var uri))
        {
            return PhaseOutcome.WithStatus(400);
        }

        ctx.Uri = uri;
        return PhaseOutcome.Continue;
    }

    /// <summary>Stores a regex match as $1..$9 (PCRE numbering) and its named captures.</summary>
    internal static void SetCaptures(RequestContext ctx, Match match, string?[] groupNames)
    {
        var groups = match.Groups;
        var captures = new string?[groupNames.Length];
        for (var i = 0; i < groupNames.Length; i++)
        {
            var group = groups[i];
            captures[i] = group.Success ? group.Value : null;
            if (groupNames[i] is { } name)
            {
                ctx.NamedCaptures ??= new Dictionary<string, string>(StringComparer.Ordinal);
                ctx.NamedCaptures[name] = group.Success ? group.Value : "";
            }
        }

        ctx.Captures = captures;
    }
}
