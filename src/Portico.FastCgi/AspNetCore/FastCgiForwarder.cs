using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Portico.FastCgi.Client;

namespace Portico.FastCgi.AspNetCore;

/// <summary>Forwards an <see cref="HttpContext"/> to a FastCGI application and streams the answer back.</summary>
public sealed partial class FastCgiForwarder : IAsyncDisposable
{
    // Hop-by-hop headers (RFC 9110 section 7.6.1) belong to the backend link, not to the client's.
    private static readonly HashSet<string> s_hopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Transfer-Encoding", "Upgrade", "Proxy-Connection", "TE", "Trailer",
    };

    private readonly FastCgiForwarderOptions _options;
    private readonly FastCgiClient _client;
    private readonly ILogger _logger;

    public FastCgiForwarder(FastCgiForwarderOptions options, ILogger<FastCgiForwarder>? logger = null)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _client = new FastCgiClient(options.EndPoint, options.Client, options.Pool);
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    public FastCgiClient Client => _client;

    public async Task ForwardAsync(HttpContext context)
    {
        var aborted = context.RequestAborted;
        Stream? spooled = null;
        try
        {
            var request = new FastCgiRequest();
            var contentLength = context.Request.ContentLength;
            var body = context.Request.Body;
            var chunked = contentLength is null && context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody == true;
            if (chunked || (_options.BufferRequestBody && contentLength > 0))
            {
                // PHP needs CONTENT_LENGTH, so a chunked body is always spooled; a sized one is spooled when
                // buffering is on so the backend connection (a php-fpm worker) is only taken once it is complete.
                spooled = await SpoolAsync(body, contentLength, _options.MemoryBufferBytes, aborted).ConfigureAwait(false);
                contentLength = spooled.Length;
                body = spooled;
            }

            CgiParams.Add(request, context, _options, contentLength);
            _options.ConfigureRequest?.Invoke(context, request);
            request.Body = contentLength > 0 ? body : null;
            request.StderrLine = _options.StderrLine is { } sink
                ? line => sink(context, line)
                : line => LogStderr(_logger, _client.Pool.EndPoint.ToString(), line);

            await using var response = await _client.SendAsync(request, aborted).ConfigureAwait(false);
            CopyHead(response, context);

            // Send the head now, as nginx does once it parsed the upstream header: slow or streaming
            // scripts (flush()) reach the client without waiting for the first body buffer.
            await context.Response.StartAsync(aborted).ConfigureAwait(false);
            await response.Body.CopyToAsync(context.Response.Body, aborted).ConfigureAwait(false);
        }
        catch (FastCgiException ex)
        {
            LogBackendError(_logger, ex.Kind, _client.Pool.EndPoint.ToString(), ex);
            if (context.Response.HasStarted)
            {
                // Headers are gone: the only honest signal left is to cut the client connection.
                context.Abort();
                return;
            }

            context.Response.Clear();
            context.Response.StatusCode = ex.IsTimeout ? StatusCodes.Status504GatewayTimeout : StatusCodes.Status502BadGateway;
        }
        catch (Exception ex) when (aborted.IsCancellationRequested && ex is OperationCanceledException or IOException)
        {
            // The client went away (mid-upload or mid-download); nothing to answer.
        }
        finally
        {
            if (spooled is not null)
            {
                await spooled.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    private static void CopyHead(FastCgiResponse response, HttpContext context)
    {
        var http = context.Response;
        http.StatusCode = response.StatusCode;
        if (response.ReasonPhrase is not null)
        {
            context.Features.Get<IHttpResponseFeature>()!.ReasonPhrase = response.ReasonPhrase;
        }

        foreach (var (name, value) in response.Headers)
        {
            if (s_hopByHop.Contains(name))
            {
                continue;
            }

            http.Headers.Append(name, value);
        }
    }

    private static async Task<Stream> SpoolAsync(Stream body, long? contentLength, int memoryLimit, CancellationToken cancellationToken)
    {
        if (contentLength <= memoryLimit)
        {
            var memory = new MemoryStream((int)contentLength.Value);
            await body.CopyToAsync(memory, cancellationToken).ConfigureAwait(false);
            memory.Position = 0;
            return memory;
        }

        var file = new FileStream(Path.GetTempFileName(), FileMode.Open, FileAccess.ReadWrite, FileShare.None, 4096, FileOptions.DeleteOnClose | FileOptions.Asynchronous);
        try
        {
            await body.CopyToAsync(file, cancellationToken).ConfigureAwait(false);
            file.Position = 0;
            return file;
        }
        catch
        {
            await file.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public ValueTask DisposeAsync() => _client.DisposeAsync();

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "FastCGI sent in stderr from {EndPoint}: \"{Line}\"")]
    private static partial void LogStderr(ILogger logger, string endPoint, string line);

    [LoggerMessage(EventId = 2, Level = LogLevel.Error, Message = "FastCGI {Kind} talking to {EndPoint}")]
    private static partial void LogBackendError(ILogger logger, FastCgiErrorKind kind, string endPoint, Exception exception);
}
