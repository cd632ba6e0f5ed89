namespace Portico.FastCgi.Client;

/// <summary>
/// Sends FastCGI RESPONDER requests to one endpoint. Thread-safe: each request takes its own connection
/// (request id 1, one request per connection, since php-fpm does not multiplex).
/// </summary>
public sealed class FastCgiClient : IAsyncDisposable
{
    private readonly bool _ownsPool;

    /// <summary>A client with its own connection pool.</summary>
    public FastCgiClient(FastCgiEndPoint endPoint, FastCgiClientOptions? options = null, FastCgiPoolOptions? poolOptions = null)
        : this(new FastCgiConnectionPool(endPoint, poolOptions), options)
    {
        _ownsPool = true;
    }

    /// <summary>A client on a shared pool (e.g. several locations passing to one upstream).</summary>
    public FastCgiClient(FastCgiConnectionPool pool, FastCgiClientOptions? options = null)
    {
        Pool = pool ?? throw new ArgumentNullException(nameof(pool));
        Options = options ?? new FastCgiClientOptions();
    }

    public FastCgiConnectionPool Pool { get; }

    public FastCgiClientOptions Options { get; }

    /// <summary>
    /// Sends the request and returns once the CGI header block is parsed. The body is uploaded concurrently
    /// and may still be uploading when this returns; <paramref name="cancellationToken"/> keeps governing that
    /// upload. Failures throw <see cref="FastCgiException"/> (a failing body stream's own exception is rethrown
    /// as is); cancellation throws <see cref="OperationCanceledException"/>. Invalid arguments (including a param
    /// too large for one record) throw at the call, before a connection is taken.
    /// </summary>
    public Task<FastCgiResponse> SendAsync(FastCgiRequest request, CancellationToken cancellationToken = default)
    {
        Validate(request);

        // A request already cancelled must not reach the backend (an idle connection's send could complete
        // before anything looks at the token).
        return cancellationToken.IsCancellationRequested
            ? Task.FromCanceled<FastCgiResponse>(cancellationToken)
            : NewExchange(request).RunAsync(request, cancellationToken);
    }

    /// <summary>
    /// As <see cref="SendAsync"/>, but what <see cref="SendAsync"/> throws as a <see cref="FastCgiException"/>
    /// (a refused or timed-out connect, a backend that closed, timed out or broke the protocol, a param too large)
    /// is returned in <see cref="FastCgiResult.Failure"/>, for a caller that answers it (a proxy's 502 or 504) and
    /// should not pay for an exception on every request while a backend is down. Invalid arguments, a failing body
    /// stream and cancellation still throw.
    /// </summary>
    public Task<FastCgiResult> TrySendAsync(FastCgiRequest request, CancellationToken cancellationToken = default)
    {
        try
        {
            Validate(request);
        }
        catch (FastCgiException ex)
        {
            return Task.FromResult(new FastCgiResult(ex));
        }

        return cancellationToken.IsCancellationRequested
            ? Task.FromCanceled<FastCgiResult>(cancellationToken)
            : NewExchange(request).TryRunAsync(request, cancellationToken);
    }

    private static void Validate(FastCgiRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Body is not null && request.BodyReader is not null)
        {
            throw new ArgumentException("Set either Body or BodyReader, not both.", nameof(request));
        }

        // Reject an oversized param before taking a connection.
        Protocol.RecordWriter.ValidateParams(request.ParamsOrEmpty);
        if (request.ParamBlock is { LargestPair: > Protocol.FastCgiConstants.MaxContentLength } block)
        {
            throw new FastCgiException(
                FastCgiErrorKind.ParamTooLarge,
                $"A FastCGI param encodes to {block.LargestPair} bytes; a name/value pair must fit one PARAMS record (at most {Protocol.FastCgiConstants.MaxContentLength} bytes) because the backend parses each record alone.");
        }
    }

    private FastCgiExchange NewExchange(FastCgiRequest request)
    {
        // An idle connection is the common case: no async frame of our own around the exchange. Otherwise the
        // exchange waits for a connection handed back, or opens one, in its own frame.
        var hasBody = request.Body is not null || request.BodyReader is not null;
        return Pool.TryRentIdle(probeSocket: hasBody, out var idle)
            ? new FastCgiExchange(Pool, idle, Options, reused: true)
            : new FastCgiExchange(Pool, Options);
    }

    public ValueTask DisposeAsync() => _ownsPool ? Pool.DisposeAsync() : ValueTask.CompletedTask;
}
