using System.IO.Pipelines;
using System.Net.Sockets;

namespace Portico.FastCgi.Client;

/// <summary>One socket to a FastCGI backend. Carries one request at a time (php-fpm does not multiplex).</summary>
internal sealed class FastCgiConnection : IAsyncDisposable
{
    private readonly FastCgiSocket _socket;

    // Cancelled when a deadline fires or the exchange is abandoned: every socket operation of the connection
    // observes this one token, and a connection whose token was cancelled is never reused.
    private readonly CancellationTokenSource _io = new();
    private int _disposed;
    private int _closeReported;

    private FastCgiConnection(FastCgiSocket socket, long createdTimestamp, TimeProvider timeProvider)
    {
        _socket = socket;
        SocketReader = new SocketPipeReader(socket, bufferSize: 32 * 1024);
        Writer = new SocketPipeWriter(socket, bufferSize: 4 * 1024);
        LastUsedTimestamp = createdTimestamp;
        SendDeadline = new IoDeadline(timeProvider, CancelIo);
        ReadDeadline = new IoDeadline(timeProvider, CancelIo);
    }

    /// <summary>The token every send and read of this connection observes.</summary>
    public CancellationToken IoToken => _io.Token;

    /// <summary>Serializes arming and disarming the deadlines between an exchange's reader and its upload (one per
    /// connection: an exchange is per request).</summary>
    public Lock TimerLock { get; } = new();

    /// <summary>Armed around each write of the request (fastcgi_send_timeout).</summary>
    public IoDeadline SendDeadline { get; }

    /// <summary>Armed around each read of the response once the request is sent (fastcgi_read_timeout).</summary>
    public IoDeadline ReadDeadline { get; }

    /// <summary>True once the I/O token was cancelled: a deadline fired or an exchange was abandoned.</summary>
    public bool IoCancelled => _io.IsCancellationRequested;

    public PipeReader Reader => SocketReader;

    /// <summary>The reader as what it is, for the exchange's waits that await the socket directly.</summary>
    internal SocketPipeReader SocketReader { get; }

    public PipeWriter Writer { get; }

    /// <summary>Requests started on this connection.</summary>
    public int RequestCount { get; set; }

    public long LastUsedTimestamp { get; set; }

    /// <summary>A new connection whose first response head has not arrived: it may sit in the backend's
    /// accept queue, waiting for a worker that a kept-alive idle connection pins.</summary>
    public bool AwaitingFirstResponse { get; set; }

    /// <summary>True only when the last response was read through FCGI_END_REQUEST with KEEP_CONN and no error.</summary>
    public bool IsReusable { get; set; }

    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    /// <summary>The pool that opened this connection; told once when the socket closes, to keep its count.</summary>
    internal FastCgiConnectionPool? Owner { get; set; }

    public static async Task<FastCgiConnection> ConnectAsync(FastCgiEndPoint endPoint, FastCgiConnector connector, TimeSpan timeout, TimeProvider timeProvider, CancellationToken cancellationToken, bool keepAlive = false)
    {
        var (connection, failure) = await TryConnectAsync(endPoint, connector, timeout, timeProvider, cancellationToken, keepAlive).ConfigureAwait(false);
        return connection ?? throw failure!;
    }

    /// <summary>Connects; a refusal or a connect timeout is returned as the <see cref="FastCgiException"/> to report,
    /// not thrown (see <see cref="FastCgiConnector.TryConnectAsync"/>). The caller's cancellation throws.</summary>
    public static async ValueTask<(FastCgiConnection? Connection, FastCgiException? Failure)> TryConnectAsync(FastCgiEndPoint endPoint, FastCgiConnector connector, TimeSpan timeout, TimeProvider timeProvider, CancellationToken cancellationToken, bool keepAlive = false)
    {
        using var timeoutCts = new CancellationTokenSource(timeout, timeProvider);
        using var linked = cancellationToken.CanBeCanceled ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutCts.Token) : null;
        try
        {
            var (socket, refused) = await connector.TryConnectAsync(endPoint.ToSocketEndPoint(), linked?.Token ?? timeoutCts.Token).ConfigureAwait(false);
            if (socket is null)
            {
                return (null, ConnectFailed(endPoint, refused!));
            }

            if (keepAlive)
            {
                socket.EnableKeepAlive();
            }

            return (new FastCgiConnection(socket, timeProvider.GetTimestamp(), timeProvider), null);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (null, new FastCgiException(FastCgiErrorKind.ConnectTimeout, $"Connecting to FastCGI backend {endPoint} timed out after {timeout}."));
        }
        catch (SocketException ex)
        {
            return (null, ConnectFailed(endPoint, ex));
        }
    }

    private static FastCgiException ConnectFailed(FastCgiEndPoint endPoint, SocketException cause) =>
        new(FastCgiErrorKind.ConnectFailed, $"Connecting to FastCGI backend {endPoint} failed: {cause.Message}", cause);

    /// <summary>
    /// An idle connection must have nothing to read: readable-with-zero-bytes means the backend closed it,
    /// and stray bytes mean the stream is out of step. Either way it is unusable.
    /// </summary>
    public bool LooksHealthyWhileIdle(bool probeSocket = true)
    {
        try
        {
            if (IsDisposed || IoCancelled || !_socket.IsOpen)
            {
                return false;
            }

            // Bytes the pipe already pulled in after FCGI_END_REQUEST are as bad as bytes still in the socket.
            if (Reader.TryRead(out var buffered))
            {
                var stray = !buffered.Buffer.IsEmpty || buffered.IsCompleted;
                Reader.AdvanceTo(buffered.Buffer.Start);
                if (stray)
                {
                    return false;
                }
            }

            return !probeSocket || !_socket.HasInputOrClosed();
        }
        catch (SocketException)
        {
            return false;
        }
        catch (ObjectDisposedException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            // The pipe was completed: the connection is finished.
            return false;
        }
    }

    /// <summary>Cancels every pending send and read; the connection is finished.</summary>
    public void CancelIo()
    {
        IsReusable = false;
        try
        {
            _io.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
        catch (AggregateException)
        {
            // A registration's callback failed; the token is cancelled regardless.
        }
    }

    /// <summary>Closes the socket without touching the pipes, which another task may still be using.</summary>
    public void CloseSocket()
    {
        IsReusable = false;
        _socket.Dispose();
        ReportClosed();
    }

    public ValueTask DisposeAsync()
    {
        Close();
        return ValueTask.CompletedTask;
    }

    /// <summary>Closes the socket and hands the pipes' buffers back; nothing in it waits.</summary>
    public void Close()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        IsReusable = false;
        SendDeadline.Dispose();
        ReadDeadline.Dispose();

        // The socket first (a pending read or write fails at once), then the pipes hand their buffers back to
        // the pool; they never flush, so completing them cannot fail on a dead peer.
        _socket.Dispose();
        ReportClosed();
        Reader.Complete();
        Writer.Complete();
    }

    private void ReportClosed()
    {
        if (Interlocked.Exchange(ref _closeReported, 1) == 0)
        {
            Owner?.ConnectionClosed();
        }
    }
}
