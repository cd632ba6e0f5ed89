using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http.Features;

namespace Portico.Server.Transport;

/// <summary>
/// A client connection as Kestrel sees it: an input reader and an output writer over a <see cref="LoopSocket"/>,
/// no Pipes. The receive side reads into the input (<see cref="LoopInputReader"/>) when epoll says bytes came, and
/// Kestrel's pending read completes there, running the parser and the request inline on the loop thread; the send side (<see cref="LoopOutputWriter"/>) sends what Kestrel
/// flushes at once, on the flushing thread, and waits for epoll only when the socket buffer is full. The lifecycle follows Kestrel's socket transport
/// (SocketConnection) but for the client's FIN, which nginx reads as the end of the request stream, not of the
/// connection (<see cref="IClientHalfClose"/>): it completes the input, and the connection is closed for Kestrel
/// when the send side ends. An error on the receive side closes it at once. The socket is shut down and closed
/// when the send side ends or the connection is aborted.
/// </summary>
internal sealed class LoopConnection : ConnectionContext, IClientHalfClose, IClientSendTimeout, IClientIdleClose,
    IConnectionIdFeature, IConnectionTransportFeature, IConnectionItemsFeature, IMemoryPoolFeature, IConnectionLifetimeFeature, IConnectionEndPointFeature
{
    private const int MinimumReceiveBuffer = 2048;
    private static long s_ids;

    private readonly LoopSocket _socket;
    private readonly LoopInputReader _input;
    private readonly LoopOutputWriter _output;
    private bool _sendTimedOut;
    private readonly TaskCompletionSource _sendEnded = new();
    private readonly CancellationTokenSource _closedSource = new();
    private readonly CancellationTokenSource _clientClosed = new();
    private readonly TaskCompletionSource _closedFired = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _shutdownLock = new();
    private readonly FeatureCollection _features = new(6);
    private IDictionary<object, object?>? _items;
    private string? _id;
    private Task? _processing;
    private int _closedSignalled;
    private int _inputEnded;
    private int _cancelOnInputEnd;
    private long _receiveCount;
    private volatile bool _socketShut;
    private volatile Exception? _shutdownReason;

    public LoopConnection(LoopSocket socket, MemoryPool<byte> pool, EndPoint? local, EndPoint? remote)
    {
        _socket = socket;
        MemoryPool = pool;
        LocalEndPoint = local;
        RemoteEndPoint = remote;

        // Every continuation inline: the loop thread is the only scheduler (Kestrel's UnsafePreferInlineScheduling).
        _input = new LoopInputReader(pool);
        _output = new LoopOutputWriter(socket, pool, SendSideEnded, SendTimeoutPassed);
        Transport = new DuplexPipe(_input, _output);
        ConnectionClosed = _closedSource.Token;

        _features.Set<IConnectionIdFeature>(this);
        _features.Set<IConnectionTransportFeature>(this);
        _features.Set<IConnectionItemsFeature>(this);
        _features.Set<IMemoryPoolFeature>(this);
        _features.Set<IConnectionLifetimeFeature>(this);
        _features.Set<IConnectionEndPointFeature>(this);
    }

    public override string ConnectionId
    {
        get => _id ??= "L" + Interlocked.Increment(ref s_ids).ToString("x", System.Globalization.CultureInfo.InvariantCulture);
        set => _id = value;
    }

    public override IFeatureCollection Features => _features;

    public override IDictionary<object, object?> Items
    {
        get => _items ??= new ConnectionItems();
        set => _items = value;
    }

    public override IDuplexPipe Transport { get; set; }

    public MemoryPool<byte> MemoryPool { get; }

    /// <summary>The index of the loop that owns the socket (the connection's worker).</summary>
    public int Worker => _socket.Loop.Index;

    public override CancellationToken ConnectionClosed { get; set; }

    public override EndPoint? LocalEndPoint { get; set; }

    public override EndPoint? RemoteEndPoint { get; set; }

    public bool InputEnded => Volatile.Read(ref _inputEnded) != 0;

    public CancellationToken Closed => _clientClosed.Token;

    public void CancelOnInputEnd(bool on)
    {
        // Set, then look: a FIN that came first is seen here, one that comes later sees the flag (both sides
        // write before they read, with full fences).
        Interlocked.Exchange(ref _cancelOnInputEnd, on ? 1 : 0);
        if (on && InputEnded)
        {
            CancelClientClosed();
        }
    }

    public TimeSpan SendTimeout
    {
        get => _output.SendTimeout;
        set => _output.SendTimeout = value;
    }

    public bool SendTimedOut => Volatile.Read(ref _sendTimedOut);

    public long ReceiveCount => Volatile.Read(ref _receiveCount);

    /// <summary>On a timer thread: keepalive_timeout passed with the connection idle.</summary>
    public void CloseIdle() => Abort(new ConnectionAbortedException("The connection was idle for keepalive_timeout."));

    /// <summary>Starts both sides; called on the loop that owns the socket.</summary>
    public void Start() => _processing = RunAsync();

    /// <summary>On a timer thread: the flag first, so the request that sees the abort can log why.</summary>
    private void SendTimeoutPassed()
    {
        Volatile.Write(ref _sendTimedOut, true);
        Abort(new ConnectionAbortedException("The client timed out while the response was sent (send_timeout)."));
    }

    public override void Abort(ConnectionAbortedException abortReason)
    {
        // As Kestrel's socket transport: shut the socket down first (so the reason is the abort). A flush waiting
        // for room fails with the socket; the writer's buffers stay its own until Kestrel completes it.
        Shutdown(abortReason);
        _input.StopWaitingForRoom();
        FireConnectionClosed();
    }

    public override async ValueTask DisposeAsync()
    {
        Transport.Input.Complete();
        Transport.Output.Complete();
        if (_processing is not null)
        {
            await _processing.ConfigureAwait(false);
        }

        // _clientClosed stays undisposed: a request finishing late may still read its token (Token throws once
        // disposed), and a source without a timer or wait handle holds nothing to release.
        _closedSource.Dispose();
        await base.DisposeAsync().ConfigureAwait(false);
    }

    private async Task RunAsync()
    {
        await ReceiveAsync().ConfigureAwait(false);
        await _sendEnded.Task.ConfigureAwait(false);
    }

    private async Task ReceiveAsync()
    {
        Exception? error = null;
        var finished = false;
        var input = _input;
        try
        {
            while (true)
            {
                await _socket.WaitReadableAsync().ConfigureAwait(false);

                // Memory is taken only once bytes are known to be there (Kestrel's WaitForDataBeforeAllocatingBuffer).
                var memory = input.GetReceiveMemory(MinimumReceiveBuffer);
                int received;
                try
                {
                    received = _socket.TryReceive(memory.Span);
                }
                catch
                {
                    input.ReceivedNothing();
                    throw;
                }

                if (received <= 0)
                {
                    input.ReceivedNothing();
                }

                if (received < 0)
                {
                    continue;
                }

                if (received == 0)
                {
                    finished = true;
                    Interlocked.Exchange(ref _inputEnded, 1);

                    // nginx: "client prematurely closed connection" (the request's upstream part logs it, answers 499
                    // and closes the connection). The upstream request is cancelled here and now, inline: its
                    // continuations run before the loop reads any other descriptor, so a backend response cannot
                    // slip out first.
                    if (Volatile.Read(ref _cancelOnInputEnd) != 0)
                    {
                        CancelClientClosed();
                    }

                    break;
                }

                // Only this loop writes it; an idle timer reads it (IClientIdleClose).
                Volatile.Write(ref _receiveCount, _receiveCount + 1);

                // A read Kestrel left pending completes here, inline: the request runs now, on the loop.
                if (input.Received(received) is { } pause && !await pause.ConfigureAwait(false))
                {
                    break;
                }
            }
        }
        catch (SocketException ex) when (ex.SocketErrorCode is SocketError.ConnectionReset or SocketError.Shutdown)
        {
            error = new ConnectionResetException(ex.Message, ex);
        }
        catch (Exception ex)
        {
            error = ex;
        }
        finally
        {
            input.CompleteWriting(_shutdownReason ?? error);

            // After a FIN the response in progress still goes out: the send side signals the close when it ends.
            if (!finished || _socketShut)
            {
                FireConnectionClosed();
            }

            await _closedFired.Task.ConfigureAwait(false);
        }
    }

    /// <summary>The output writer's send side ended: a send failed, or Kestrel completed it and everything went.</summary>
    private void SendSideEnded(Exception? error)
    {
        Shutdown(error switch
        {
            SocketException { SocketErrorCode: SocketError.ConnectionReset or SocketError.Shutdown } reset => new ConnectionResetException(reset.Message, reset),
            _ => error,
        });

        // A receive paused on a full input must see the end too.
        _input.StopWaitingForRoom();
        FireConnectionClosed();
        _sendEnded.TrySetResult();
    }

    private void CancelClientClosed()
    {
        try
        {
            _clientClosed.Cancel();
        }
        catch (AggregateException ex)
        {
            LoopFailures.Report(ex);
        }
    }

    private void FireConnectionClosed()
    {
        if (Interlocked.Exchange(ref _closedSignalled, 1) != 0)
        {
            return;
        }

        // Off the loop, as Kestrel's transport does: the token's callbacks run request-abort code.
        ThreadPool.UnsafeQueueUserWorkItem(static state =>
        {
            state.CancelClientClosed();
            try
            {
                state._closedSource.Cancel();
            }
            catch (AggregateException ex)
            {
                LoopFailures.Report(ex);
            }
            catch (ObjectDisposedException)
            {
                // Kestrel disposed the connection before its receive side ever started (a posted start came late).
            }

            state._closedFired.TrySetResult();
        }, this, preferLocal: false);
    }

    private void Shutdown(Exception? reason)
    {
        lock (_shutdownLock)
        {
            if (_socketShut)
            {
                return;
            }

            _socketShut = true;
            _shutdownReason = reason ?? new ConnectionAbortedException("The connection's send side completed.");
        }

        // Graceful even for aborts, as Kestrel: the client sees a FIN after everything sent. Outside the lock:
        // closing fails the pending receive, whose continuation runs here.
        _socket.Shutdown(LinuxSockets.SHUT_RDWR);
        _socket.Dispose();
    }

    string IConnectionIdFeature.ConnectionId
    {
        get => ConnectionId;
        set => ConnectionId = value;
    }

    IDuplexPipe IConnectionTransportFeature.Transport
    {
        get => Transport;
        set => Transport = value;
    }

    IDictionary<object, object?> IConnectionItemsFeature.Items
    {
        get => Items;
        set => Items = value;
    }

    CancellationToken IConnectionLifetimeFeature.ConnectionClosed
    {
        get => ConnectionClosed;
        set => ConnectionClosed = value;
    }

    void IConnectionLifetimeFeature.Abort() => Abort(new ConnectionAbortedException("The connection was aborted by the application."));

    EndPoint? IConnectionEndPointFeature.LocalEndPoint
    {
        get => LocalEndPoint;
        set => LocalEndPoint = value;
    }

    EndPoint? IConnectionEndPointFeature.RemoteEndPoint
    {
        get => RemoteEndPoint;
        set => RemoteEndPoint = value;
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }

    private sealed class ConnectionItems : Dictionary<object, object?>
    {
    }
}
