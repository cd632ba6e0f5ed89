using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Portico.Config.Model;
using Portico.FastCgi;
using Portico.FastCgi.Client;
using Portico.Server.Hosting;
using Portico.Server.Phases;
using Portico.Server.Routing;
using Portico.Server.Static;
using LogLevel = Portico.Config.LogLevel;

namespace Portico.Server.FastCgi;

/// <summary>
/// The content phase of a location with <c>fastcgi_pass</c>
/// (https://nginx.org/en/docs/http/ngx_http_fastcgi_module.html): builds the params from
/// <c>fastcgi_param</c> plus the request headers as HTTP_*, picks an upstream server, sends the request,
/// and streams the answer back; or turns it into an internal redirect (X-Accel-Redirect) or an error_page
/// (fastcgi_intercept_errors).
/// </summary>
internal static class FastCgiContent
{
    private const int CopyChunk = 64 * 1024;
    private const int FlushThreshold = 64 * 1024;

    // Kestrel hands out the same string instances for known header names, so this stays small; unknown
    // names are cached up to a bound, then converted per request.
    private static readonly ConcurrentDictionary<string, (string Name, byte[] Bytes)> s_httpParamNames = new(StringComparer.Ordinal);

    // X-Accel-Redirect keeps these headers of the backend's response (nginx's "redirect" header flag).
    private static readonly string[] s_keptOnAccelRedirect =
    [
        "Content-Type", "Content-Disposition", "Accept-Ranges", "Set-Cookie", "Cache-Control", "Expires",
    ];

    public static async Task<PhaseOutcome> HandleAsync(RequestContext ctx, RuntimeConfig snapshot, RuntimeLocation location)
    {
        var runtime = snapshot.FastCgi;
        var fcgi = location.FastCgi;
        if (fcgi is null || !ReferenceEquals(fcgi.Source, ctx.Settings.FastCgi))
        {
            fcgi = location.FastCgi = runtime.Get(ctx.Settings.FastCgi);
        }

        var settings = fcgi.Source;
        var http = ctx.Http;
        // fastcgi_ignore_client_abort on: the backend's request runs to its end whatever the client does.
        var aborted = ClientAborted(ctx, settings.IgnoreClientAbort);
        var errorLog = snapshot.Logs.ErrorLog;

        // $document_root and $request_filename of this location (a location before a redirect may have set others).
        PathMapper.MapForVariables(ctx, location, ctx.Uri);

        var group = fcgi.Group;
        if (group is null)
        {
            var target = fcgi.DynamicTarget!.Evaluate(ctx);
            group = runtime.Resolve(target, fcgi);
            if (group is null)
            {
                errorLog.Write(LogLevel.Error, ctx, $"invalid host in upstream \"{target}\"");
                return PhaseOutcome.WithStatus(502);
            }
        }

        // fastcgi_pass_request_body off: the body is read all the same (nginx reads it too, and client_max_body_size
        // applies), but never sent.
        var (body, tooLarge) = await RequestBodyBuffer.ReadAsync(ctx, settings.RequestBuffering || !settings.PassRequestBody).ConfigureAwait(false);
        if (body is null)
        {
            errorLog.Write(LogLevel.Error, ctx, $"client intended to send too large chunked body: {tooLarge.ToString(CultureInfo.InvariantCulture)} bytes");
            return PhaseOutcome.WithStatus(413);
        }

        if (body.FilePath is not null)
        {
            (ctx.UserVariables ??= new(StringComparer.Ordinal))["request_body_file"] = body.FilePath;
        }

        using var block = new FastCgiParamBlock();
        var request = BuildRequest(ctx, fcgi, block);
        request.Body = settings.PassRequestBody ? body.OpenReader() : null;

        var time = runtime.Time;
        var started = time.GetTimestamp();
        var maxTries = settings.NextUpstreamTries == 0 ? int.MaxValue : settings.NextUpstreamTries;
        var idempotent = !(HttpMethods.IsPost(ctx.Method) || HttpMethods.IsPatch(ctx.Method) || string.Equals(ctx.Method, "LOCK", StringComparison.Ordinal));
        var log = new UpstreamLog(ctx.Upstream);
        ctx.Upstream = log;
        ulong tried = 0;
        var tries = 0;
        var failStatus = 502;
        FastCgiResponse? response = null;
        UpstreamPeer? peer = null;
        var state = new StderrState(ctx, errorLog);
        request.StderrLine = state.Write;

        // nginx cuts the backend's request short when the client closes its side (a 499), unless told not to
        // (fastcgi_ignore_client_abort; ngx_http_upstream_check_broken_connection). Kestrel's socket transport
        // has no half-close: there a FIN aborts every request anyway.
        var halfClose = settings.IgnoreClientAbort ? null : ctx.HalfClose;
        halfClose?.CancelOnInputEnd(true);
        try
        {
            while (true)
            {
                peer = group.Select(ctx, tried);
                if (peer is null)
                {
                    if (tries == 0)
                    {
                        errorLog.Write(LogLevel.Error, ctx, "no live upstreams while connecting to upstream", "fastcgi://" + group.Name);
                        log.Add(group.Name, 502, 0);
                    }

                    break;
                }

                tries++;
                if (peer.Index < 64)
                {
                    tried |= 1UL << peer.Index;
                }

                // The first attempt starts with the request's FastCGI part (one clock read fewer per request).
                var attemptStart = tries == 1 ? started : time.GetTimestamp();
                state.Upstream = peer.LogName;
                state.HeaderRead = false;
                // The backend's failures come back as values (TrySendAsync): while a backend is down every request
                // fails, and a thrown failure cost each one several times a served request's CPU.
                FastCgiException? failure;
                try
                {
                    var result = await new FastCgiClient(peer.PoolFor(ctx.Worker), fcgi.ClientOptions).TrySendAsync(request, aborted).ConfigureAwait(false);
                    (response, failure) = (result.Response, result.Failure);
                }
                catch (FastCgiException ex)
                {
                    // The request body's upload failed on the backend's side (still thrown: it ends in the body's frame).
                    failure = ex;
                }
                catch
                {
                    group.Release(peer, failed: false);
                    throw;
                }

                if (failure is not null)
                {
                    group.Release(peer, failed: true);
                    failStatus = failure.IsTimeout ? 504 : 502;
                    log.Add(peer.Name, failStatus, time.GetElapsedTime(attemptStart).TotalSeconds);
                    if (failure.Kind != FastCgiErrorKind.StderrCaught)
                    {
                        // (A caught stderr line was logged as such; nginx adds nothing to it.)
                        errorLog.Write(LogLevel.Error, ctx, Describe(failure, peer, headerPhase: true), peer.LogName);
                    }

                    var sent = failure.Kind is not (FastCgiErrorKind.ConnectFailed or FastCgiErrorKind.ConnectTimeout);
                    if (MayRetry(settings, Condition(failure.Kind), tries, maxTries, started, time)
                        && (!sent || (body.Replayable && (idempotent || settings.NextUpstream.HasFlag(FastCgiNextUpstream.NonIdempotent)))))
                    {
                        request.Body = settings.PassRequestBody ? body.OpenReader() : null;
                        continue;
                    }

                    peer = null;
                    break;
                }

                state.HeaderRead = true;
                var status = response!.StatusCode; // no failure: a response
                var statusCondition = status switch
                {
                    500 => FastCgiNextUpstream.Http500,
                    503 => FastCgiNextUpstream.Http503,
                    403 => FastCgiNextUpstream.Http403,
                    404 => FastCgiNextUpstream.Http404,
                    429 => FastCgiNextUpstream.Http429,
                    _ => FastCgiNextUpstream.Off,
                };
                if (statusCondition != FastCgiNextUpstream.Off
                    && MayRetry(settings, statusCondition, tries, maxTries, started, time)
                    && body.Replayable && (idempotent || settings.NextUpstream.HasFlag(FastCgiNextUpstream.NonIdempotent))
                    && group.Count > tries)
                {
                    log.Add(peer.Name, status, time.GetElapsedTime(attemptStart).TotalSeconds);
                    await response.DisposeAsync().ConfigureAwait(false);
                    response = null;
                    // nginx counts http_500/503 as failures of the server, never http_403/404.
                    group.Release(peer, failed: status is 500 or 503);
                    request.Body = settings.PassRequestBody ? body.OpenReader() : null;
                    continue;
                }

                log.Add(peer.Name, status, double.NaN);
                log.HeaderTimestamp = attemptStart;
                break;
            }

            if (response is null)
            {
                return PhaseOutcome.WithStatus(failStatus);
            }

            var failed = false;
            var released = false;
            try
            {
                var outcome = await SendResponseAsync(ctx, fcgi, response, state, errorLog, aborted).ConfigureAwait(false);
                failed = state.BodyFailed;
                if (state.BodyEnded)
                {
                    // The backend's output is all in: the response's end goes to the client now, and returning the
                    // connection, releasing the server and the request's unwinding follow it. They were ahead of
                    // it, on the path of every response (nginx too sends the last buffer before it finalizes the
                    // upstream). The upstream's time stops first: it is the backend's, not the client's send.
                    log.Complete(time);
                    if (state.Spill is { } spill)
                    {
                        // A slow client: the backend's connection and its place in the group go back now, and the
                        // client gets the rest from the temp file at its own pace.
                        await using (spill.ConfigureAwait(false))
                        {
                            try
                            {
                                await response.DisposeAsync().ConfigureAwait(false);
                            }
                            finally
                            {
                                group.Release(peer!, failed);
                                released = true;
                            }

                            await spill.DrainedAsync().ConfigureAwait(false);
                            ctx.BodyBytesSent += spill.Sent;
                            if (spill.ClientGone)
                            {
                                SpillFailed(ctx, spill, errorLog, state);
                                return outcome;
                            }
                        }
                    }

                    await http.Response.CompleteAsync().ConfigureAwait(false);
                }

                return outcome;
            }
            finally
            {
                if (!released)
                {
                    await response.DisposeAsync().ConfigureAwait(false);
                    group.Release(peer!, failed);
                }

                log.Complete(time);
            }
        }
        catch (OperationCanceledException) when (halfClose is { InputEnded: true })
        {
            var phase = state.HeaderRead ? "while reading upstream" : "while reading response header from upstream";
            errorLog.Write(LogLevel.Info, ctx, "epoll_wait() reported that client prematurely closed connection, so upstream connection is closed too " + phase, state.Upstream);
            throw;
        }
        finally
        {
            halfClose?.CancelOnInputEnd(false);
        }
    }

    // A ValueTask: a small response (its body came with the head) completes without a Task of its own.
    private static async ValueTask<PhaseOutcome> SendResponseAsync(RequestContext ctx, CompiledFastCgi fcgi, FastCgiResponse response, StderrState state, Logging.ErrorLog errorLog, CancellationToken aborted)
    {
        var http = ctx.Http;
        var status = response.StatusCode;

        // X-Accel-Redirect: an internal redirect to a URI or named location; the method becomes GET.
        var ignored = fcgi.Source.IgnoreHeaders;
        if ((ignored & FastCgiIgnoredHeaders.XAccelRedirect) == 0 && response.GetHeader("X-Accel-Redirect") is { Length: > 0 } accel)
        {
            foreach (var name in s_keptOnAccelRedirect)
            {
                foreach (var (key, value) in response.Headers)
                {
                    if (key.Equals(name, StringComparison.OrdinalIgnoreCase))
                    {
                        http.Response.Headers.Append(name, value);
                    }
                }
            }

            if (!HttpMethods.IsHead(ctx.Method))
            {
                ctx.Method = HttpMethods.Get;
            }

            if (accel[0] == '@')
            {
                return PhaseOutcome.Named(accel);
            }

            var query = accel.IndexOf('?', StringComparison.Ordinal);
            return query < 0 ? PhaseOutcome.Redirect(accel, null) : PhaseOutcome.Redirect(accel[..query], accel[(query + 1)..]);
        }

        // fastcgi_intercept_errors: a code >= 300 that has an error_page goes to it; other codes pass through.
        if (fcgi.Source.InterceptErrors && status >= 300 && HasErrorPage(ctx, status))
        {
            if (status == 401 && response.GetHeader("WWW-Authenticate") is { } challenge)
            {
                http.Response.Headers.WWWAuthenticate = challenge;
            }

            return PhaseOutcome.WithStatus(status);
        }

        // fastcgi_force_ranges: nginx's range filter on the backend's response (one range at most).
        long fullLength = -1;
        ByteRange range = default;
        var rangeKind = fcgi.Source.ForceRanges ? FastCgiRanges.Decide(http.Request, response, out fullLength, out range) : FastCgiRangeKind.None;
        if (rangeKind is FastCgiRangeKind.Partial or FastCgiRangeKind.NotSatisfiable && ctx.Gzip is not null
            && Compression.GzipFilter.WillCompress(ctx, ctx.Compiled!, BackendContentType(response.Headers), fullLength))
        {
            // nginx's gzip filter runs before its range filter and takes the length away: the whole 200, compressed.
            rangeKind = FastCgiRangeKind.Full;
        }
        if (rangeKind == FastCgiRangeKind.NotSatisfiable)
        {
            // ngx_http_range_not_satisfiable: the 416 page keeps Content-Range (RFC 9110 section 15.5.17).
            http.Response.Headers.ContentRange = "bytes */" + fullLength.ToString(CultureInfo.InvariantCulture);
            return PhaseOutcome.WithStatus(416);
        }

        var buffering = fcgi.Source.Buffering;
        var headers = http.Response.Headers;
        http.Response.StatusCode = status;

        // ngx_http_upstream passes a relative Location from the backend as a plain header, so
        // nginx's absolute_redirect does not rewrite it.
        ctx.KeepRelativeLocation = true;
        var backendHeaders = response.Headers;
        for (var i = 0; i < backendHeaders.Count; i++)
        {
            var (name, value) = backendHeaders[i];
            if (fcgi.HiddenHeaders.Contains(name))
            {
                if ((ignored & FastCgiIgnoredHeaders.XAccelBuffering) == 0 && name.Equals("X-Accel-Buffering", StringComparison.OrdinalIgnoreCase))
                {
                    // https://nginx.org/en/docs/http/ngx_http_fastcgi_module.html#fastcgi_buffering
                    buffering = !value.Equals("no", StringComparison.OrdinalIgnoreCase) && (buffering || value.Equals("yes", StringComparison.OrdinalIgnoreCase));
                }

                continue;
            }

            if ((ignored & FastCgiIgnoredHeaders.XAccelBuffering) == 0 && name.Equals("X-Accel-Buffering", StringComparison.OrdinalIgnoreCase))
            {
                buffering = !value.Equals("no", StringComparison.OrdinalIgnoreCase) && (buffering || value.Equals("yes", StringComparison.OrdinalIgnoreCase));
            }

            if (rangeKind != FastCgiRangeKind.None
                && (name.Equals("Accept-Ranges", StringComparison.OrdinalIgnoreCase)
                    || (rangeKind == FastCgiRangeKind.Partial && name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase))))
            {
                // With force_ranges nginx drops the backend's Accept-Ranges (ngx_http_upstream_copy_allow_ranges) and
                // states its own; a part has the part's length.
                continue;
            }

            try
            {
                if (name.Length == 12 && headers.ContentType.Count == 0 && name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase))
                {
                    // Nearly every response has one: the typed slot skips two lookups by name.
                    headers.ContentType = value;
                }
                else
                {
                    headers.Append(name, value);
                }
            }
            catch (InvalidOperationException)
            {
                // Kestrel refuses non-ASCII header values unless the host sets a ResponseHeaderEncodingSelector.
                errorLog.Write(LogLevel.Warn, ctx, $"upstream sent header \"{name}\" with a non-ASCII value, not passed", state.Upstream);
            }
        }

        // The part of the body that goes out: all of it, or with fastcgi_force_ranges one range (the rest is read and
        // dropped, so the connection stays reusable).
        long skip = 0, take = long.MaxValue;
        if (rangeKind == FastCgiRangeKind.Full)
        {
            headers.AcceptRanges = "bytes";
        }
        else if (rangeKind == FastCgiRangeKind.Partial)
        {
            // ngx_http_range_singlepart_header.
            http.Response.StatusCode = StatusCodes.Status206PartialContent;
            headers.ContentRange = StaticFileResponder.FormatContentRange(range, fullLength);
            http.Response.ContentLength = range.Length;
            (skip, take) = (range.Start, range.Length);
        }

        var discard = HttpMethods.IsHead(ctx.Method) || HttpMethods.IsHead(http.Request.Method) || status is 204 or 304 || (status >= 100 && status < 200);
        var ignoreClientAbort = fcgi.Source.IgnoreClientAbort;

        // Nothing is flushed while the backend's output keeps arriving: a small response leaves in one write
        // (head, body and last chunk) when the request ends. When the backend pauses, what is there (at
        // least the head, as nginx sends it once parsed) goes out, so scripts that flush() stream.
        var writer = http.Response.BodyWriter;
        var buffer = ArrayPool<byte>.Shared.Rent(CopyChunk);
        var unflushed = 0;
        var headSent = false;
        long sent = 0;
        ResponseSpill? spill = null;
        var spillRefused = false;
        try
        {
            while (true)
            {
                int read;
                try
                {
                    var pending = response.Body.ReadAsync(buffer.AsMemory(0, CopyChunk), aborted);
                    if (spill is null && !pending.IsCompleted && (unflushed > 0 || !headSent))
                    {
                        // The backend is pausing: give the client what it has so far.
#pragma warning disable CA2012 // one of the two branches consumes the flush: the spill's drain, or the await
                        var flush = writer.FlushAsync(aborted);
                        unflushed = 0;
                        headSent = true;
                        if (buffering && !flush.IsCompleted && (spill = StartSpill(ctx, fcgi, writer, flush, errorLog, aborted, ref spillRefused)) is not null)
                        {
                            read = await pending.ConfigureAwait(false);
                            goto Received;
                        }

                        var flushed = await flush.ConfigureAwait(false);
#pragma warning restore CA2012
                        if (flushed.IsCompleted || flushed.IsCanceled)
                        {
                            if (!ignoreClientAbort)
                            {
                                await pending.ConfigureAwait(false);
                                return PhaseOutcome.Done;
                            }

                            // The client is gone: the backend's output is still read to its end.
                            discard = true;
                        }
                    }

                    read = await pending.ConfigureAwait(false);
                Received:;
                }
                catch (FastCgiException ex)
                {
                    state.BodyFailed = true;
                    errorLog.Write(LogLevel.Error, ctx, Describe(ex, null, headerPhase: false), state.Upstream);
                    if (!http.Response.HasStarted)
                    {
                        // Nothing reached the client yet: answer as if the header had failed.
                        http.Response.Clear();
                        return PhaseOutcome.WithStatus(ex.IsTimeout ? 504 : 502);
                    }

                    // Headers are gone: the honest signal left is to cut the connection (a truncated response).
                    http.Abort();
                    return PhaseOutcome.Done;
                }

                if (read == 0)
                {
                    state.BodyEnded = true;
                    if (spill is not null)
                    {
                        // The rest goes to the client from the file, after the backend is released (HandleAsync).
                        spill.EndOfResponse();
                        state.Spill = spill;
                        spill = null;
                    }

                    break;
                }

                if (discard)
                {
                    continue;
                }

                ReadOnlySpan<byte> chunk = buffer.AsSpan(0, read);
                if (rangeKind == FastCgiRangeKind.Partial)
                {
                    chunk = FastCgiRanges.Window(chunk, ref skip, ref take);
                    if (chunk.IsEmpty)
                    {
                        continue;
                    }
                }

                if (spill is not null)
                {
                    buffer.AsSpan().Overlaps(chunk, out var offset);
                    var step = await AppendToSpillAsync(ctx, spill, buffer.AsMemory(offset, chunk.Length), errorLog, state, ignoreClientAbort).ConfigureAwait(false);
                    if (step == SpillStep.End)
                    {
                        return PhaseOutcome.Done;
                    }

                    discard |= step == SpillStep.Discard;
                    continue;
                }

                writer.Write(chunk);
                sent += chunk.Length;
                unflushed += chunk.Length;
                if (!buffering || unflushed >= FlushThreshold)
                {
#pragma warning disable CA2012 // as above: the spill's drain or the await consumes the flush
                    var flush = writer.FlushAsync(aborted);
                    unflushed = 0;
                    headSent = true;
                    if (buffering && !flush.IsCompleted && (spill = StartSpill(ctx, fcgi, writer, flush, errorLog, aborted, ref spillRefused)) is not null)
                    {
                        continue;
                    }

                    var flushed = await flush.ConfigureAwait(false);
#pragma warning restore CA2012
                    if (flushed.IsCompleted || flushed.IsCanceled)
                    {
                        if (!ignoreClientAbort)
                        {
                            return PhaseOutcome.Done;
                        }

                        discard = true;
                    }
                }
            }
        }
        finally
        {
            if (spill is not null)
            {
                // Ended early (the client gone, the backend failed): the file goes with the response.
                await spill.DisposeAsync().ConfigureAwait(false);
                sent += spill.Sent;
            }

            ArrayPool<byte>.Shared.Return(buffer);
            ctx.BodyBytesSent += sent;
        }

        return PhaseOutcome.Done;
    }

    private enum SpillStep
    {
        Appended,
        Discard,
        End,
    }

    /// <summary>
    /// One chunk of the backend's output into the spill (kept out of the copy loop, whose every response runs it).
    /// A failed write ends the request as nginx's <c>[crit] pwrite()</c> does; a client gone ends it too, unless
    /// <c>fastcgi_ignore_client_abort</c> keeps the backend's output read to its end (and dropped).
    /// </summary>
    private static async ValueTask<SpillStep> AppendToSpillAsync(RequestContext ctx, ResponseSpill spill, ReadOnlyMemory<byte> chunk, Logging.ErrorLog errorLog, StderrState state, bool ignoreClientAbort)
    {
        bool appended;
        try
        {
            appended = await spill.AppendAsync(chunk).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            // "pwrite() "..." failed (28: No space left on device)": a response with a hole must not look whole.
            errorLog.Write(LogLevel.Crit, ctx, $"pwrite() \"{spill.Path}\" failed ({ex.Message}) while reading upstream", state.Upstream);
            ctx.Http.Abort();
            return SpillStep.End;
        }

        if (appended)
        {
            return SpillStep.Appended;
        }

        // The client went away while the file was sent to it (or the file could not be read back).
        return SpillFailed(ctx, spill, errorLog, state) || !ignoreClientAbort ? SpillStep.End : SpillStep.Discard;
    }

    /// <summary>The drain could not read the temp file back: logged as nginx logs a failed read, and the connection cut
    /// (the client must not take a response with a hole for a whole one). False when the drain simply saw the client go.</summary>
    private static bool SpillFailed(RequestContext ctx, ResponseSpill spill, Logging.ErrorLog errorLog, StderrState state)
    {
        if (spill.ReadFailure is not { } failure)
        {
            return false;
        }

        errorLog.Write(LogLevel.Crit, ctx, $"pread() \"{spill.Path}\" failed ({failure.Message}) while sending to client", state.Upstream);
        ctx.Http.Abort();
        return true;
    }

    /// <summary>
    /// A flush found the client's socket full while buffering is on: the rest of the backend's output goes to a temp
    /// file (<see cref="ResponseSpill"/>) that follows <paramref name="pendingFlush"/> to the client, so the backend is
    /// not held by a slow client. Null when no file may be used (<c>fastcgi_max_temp_file_size 0</c>) or none could be
    /// made (logged once per request, as nginx's <c>[crit]</c>); the caller then waits for the flush, as before.
    /// </summary>
    private static ResponseSpill? StartSpill(RequestContext ctx, CompiledFastCgi fcgi, System.IO.Pipelines.PipeWriter writer, ValueTask<System.IO.Pipelines.FlushResult> pendingFlush, Logging.ErrorLog errorLog, CancellationToken aborted, ref bool refused)
    {
        var settings = fcgi.Source;
        if (refused || settings.MaxTempFileSizeOrDefault == 0)
        {
            return null;
        }

        var spill = ResponseSpill.TryCreate(settings.TempPath ?? Path.GetTempPath(), settings.MaxTempFileSizeOrDefault, out var failure);
        if (spill is null)
        {
            refused = true;
            errorLog.Write(LogLevel.Crit, ctx, failure + " while reading upstream");
            return null;
        }

        spill.Start(writer, pendingFlush, aborted);
        return spill;
    }

    /// <summary>What cuts the backend's request short: nothing with fastcgi_ignore_client_abort on; on Portico's
    /// loops the connection's own close signal (set at once on the loop), else Kestrel's RequestAborted.</summary>
    private static CancellationToken ClientAborted(RequestContext ctx, bool ignoreClientAbort) =>
        ignoreClientAbort ? CancellationToken.None : ctx.HalfClose?.Closed ?? ctx.Http.RequestAborted;

    private static bool HasErrorPage(RequestContext ctx, int status)
    {
        var compiled = ctx.Compiled!;
        return compiled.ErrorPages.ContainsKey(status) && (!ctx.ErrorPageUsed || compiled.Source.RecursiveErrorPages);
    }

    private static FastCgiRequest BuildRequest(RequestContext ctx, CompiledFastCgi fcgi, FastCgiParamBlock block)
    {
        var request = new FastCgiRequest { ParamBlock = block };
        fcgi.Params.WriteTo(ctx, block);

        if (!fcgi.Source.PassRequestHeaders)
        {
            return request;
        }

        // fastcgi_pass_request_headers on: every request header as HTTP_NAME ("-" -> "_", upper case).
        // nginx (underscores_in_headers off) drops names with "_", so "X_Real_IP" cannot pose as "X-Real-IP";
        // a name also set by fastcgi_param (e.g. HTTP_PROXY "") is not sent twice.
        foreach (var (name, values) in ctx.Http.Request.Headers)
        {
            if (name.Contains('_', StringComparison.Ordinal))
            {
                continue;
            }

            var (paramName, paramBytes) = HttpParamName(name);
            if (fcgi.ExplicitHttpParams.Count > 0 && fcgi.ExplicitHttpParams.Contains(paramName))
            {
                continue;
            }

            string value = values.Count == 1
                ? values[0] ?? ""
                : string.Join(name.Equals("Cookie", StringComparison.OrdinalIgnoreCase) ? "; " : ", ", values.ToArray());
            block.Add(paramBytes, value);
        }

        return request;
    }

    private static (string Name, byte[] Bytes) HttpParamName(string header)
    {
        if (s_httpParamNames.TryGetValue(header, out var cached))
        {
            return cached;
        }

        var name = string.Create(header.Length + 5, header, static (span, h) =>
        {
            "HTTP_".CopyTo(span);
            for (var i = 0; i < h.Length; i++)
            {
                var c = h[i];
                span[5 + i] = c == '-' ? '_' : char.ToUpperInvariant(c);
            }
        });
        var entry = (name, Encoding.ASCII.GetBytes(name));
        if (s_httpParamNames.Count < 512)
        {
            s_httpParamNames.TryAdd(header, entry);
        }

        return entry;
    }

    private static FastCgiNextUpstream Condition(FastCgiErrorKind kind) => kind switch
    {
        FastCgiErrorKind.ConnectTimeout or FastCgiErrorKind.SendTimeout or FastCgiErrorKind.ReadTimeout => FastCgiNextUpstream.Timeout,
        FastCgiErrorKind.ProtocolError or FastCgiErrorKind.InvalidResponseHeader or FastCgiErrorKind.HeaderTooLarge or FastCgiErrorKind.StderrCaught => FastCgiNextUpstream.InvalidHeader,
        _ => FastCgiNextUpstream.Error,
    };

    private static bool MayRetry(FastCgiSettings settings, FastCgiNextUpstream condition, int tries, int maxTries, long started, TimeProvider time) =>
        (settings.NextUpstream & condition) != 0
        && tries < maxTries
        && (settings.NextUpstreamTimeout <= TimeSpan.Zero || time.GetElapsedTime(started) < settings.NextUpstreamTimeout);

    /// <summary>nginx's error log wording for upstream failures (ngx_http_upstream.c, ngx_http_fastcgi_module.c).</summary>
    private static string Describe(FastCgiException ex, UpstreamPeer? peer, bool headerPhase)
    {
        var phase = headerPhase ? "while reading response header from upstream" : "while reading upstream";
        switch (ex.Kind)
        {
            case FastCgiErrorKind.ConnectFailed:
                var socket = ex.InnerException as SocketException;
                var errno = socket?.NativeErrorCode ?? 111;
                var text = socket?.Message ?? "Connection refused";
                return peer is { EndPoint.IsUnixSocket: true }
                    ? $"connect() to {peer.Name} failed ({errno}: {text}) while connecting to upstream"
                    : $"connect() failed ({errno}: {text}) while connecting to upstream";
            case FastCgiErrorKind.ConnectTimeout:
                return "upstream timed out (110: Connection timed out) while connecting to upstream";
            case FastCgiErrorKind.SendTimeout:
                return "upstream timed out (110: Connection timed out) while sending request to upstream";
            case FastCgiErrorKind.ReadTimeout:
                return "upstream timed out (110: Connection timed out) " + phase;
            case FastCgiErrorKind.BackendClosed:
                return "upstream prematurely closed FastCGI stdout " + phase;
            case FastCgiErrorKind.InvalidResponseHeader:
                return "upstream sent invalid header " + phase;
            case FastCgiErrorKind.HeaderTooLarge:
                return "upstream sent too big header " + phase;
            case FastCgiErrorKind.RequestRejected:
                return $"upstream rejected the request ({ex.ProtocolStatus}) " + phase;
            default:
                return $"upstream sent invalid FastCGI response ({ex.Message.TrimEnd('.')}) " + phase;
        }
    }

    /// <summary>Routes FCGI_STDERR lines to the error log with nginx's wording.</summary>
    private sealed class StderrState(RequestContext ctx, Logging.ErrorLog errorLog)
    {
        public string? Upstream { get; set; }

        public bool HeaderRead { get; set; }

        public bool BodyFailed { get; set; }

        /// <summary>The backend's output was read to its end (whatever part of it went to the client).</summary>
        public bool BodyEnded { get; set; }

        /// <summary>The end of the backend's output that waits in a temp file for a slow client.</summary>
        public ResponseSpill? Spill { get; set; }

        public void Write(string line) =>
            errorLog.Write(
                LogLevel.Error,
                ctx,
                HeaderRead
                    ? $"FastCGI sent in stderr: \"{line}\" while reading upstream"
                    : $"FastCGI sent in stderr: \"{line}\" while reading response header from upstream",
                Upstream);
    }

    private static string BackendContentType(IReadOnlyList<KeyValuePair<string, string>> headers)
    {
        foreach (var (name, value) in headers)
        {
            if (name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase))
            {
                return value;
            }
        }

        return "";
    }
}
