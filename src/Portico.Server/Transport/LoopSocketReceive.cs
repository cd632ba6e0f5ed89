using System.Runtime.CompilerServices;
using System.Threading.Tasks.Sources;

namespace Portico.Server.Transport;

internal sealed partial class LoopSocket
{
    private ReceiveOperation? _receive;

    /// <summary>
    /// One recv() into <paramref name="buffer"/>: at once when the socket may have bytes, else after the next read
    /// event. The count is 0 at the peer's end.
    /// </summary>
    public ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        if (_read.IsReady)
        {
            var received = TryReceive(buffer.Span);
            if (received >= 0)
            {
                return new ValueTask<int>(received);
            }
        }

        return (_receive ??= new ReceiveOperation(this)).Start(buffer, cancellationToken);
    }

    /// <summary>
    /// A receive that waits for a read event, reused for every wait of the socket (one reader at a time). It is
    /// what an async method would be, without one: the event's continuation calls recv() itself and completes the
    /// reader's await inline. An async method here allocated a state machine for every FastCGI response (its one
    /// wait is the backend's answer) and added a frame, with its execution-context switch, between the loop's event
    /// and the exchange that waits.
    /// </summary>
    private sealed class ReceiveOperation : IValueTaskSource<int>
    {
        // Continuations run inline on the completing thread, the loop's (RunContinuationsAsynchronously stays false).
        private ManualResetValueTaskSourceCore<int> _core;
        private readonly LoopSocket _socket;
        private readonly Action _onReadable;
        private ConfiguredValueTaskAwaitable.ConfiguredValueTaskAwaiter _waiting;
        private Memory<byte> _buffer;
        private CancellationToken _cancellationToken;

        public ReceiveOperation(LoopSocket socket)
        {
            _socket = socket;
            _onReadable = OnReadable;
        }

        public ValueTask<int> Start(Memory<byte> buffer, CancellationToken cancellationToken)
        {
            _core.Reset();
            _buffer = buffer;
            _cancellationToken = cancellationToken;
            var version = _core.Version;
            WaitThenReceive();
            return new ValueTask<int>(this, version);
        }

        /// <summary>Waits for the next read event; when it has come already, receives now.</summary>
        private void WaitThenReceive()
        {
            while (true)
            {
                // The wait is consumed once, through its awaiter (an await by hand).
#pragma warning disable CA2012
                _waiting = _socket._read.WaitAsync(_socket, _cancellationToken).ConfigureAwait(false).GetAwaiter();
#pragma warning restore CA2012
                if (!_waiting.IsCompleted)
                {
                    _waiting.UnsafeOnCompleted(_onReadable);
                    return;
                }

                if (TryComplete())
                {
                    return;
                }
            }
        }

        private void OnReadable()
        {
            if (!TryComplete())
            {
                WaitThenReceive();
            }
        }

        /// <summary>Ends the wait and tries the recv(); false when it found nothing (wait again).</summary>
        private bool TryComplete()
        {
            int received;
            try
            {
                _waiting.GetResult();
                _waiting = default;
                received = _socket.TryReceive(_buffer.Span);
            }
            catch (Exception ex)
            {
                Finish();
                _core.SetException(ex);
                return true;
            }

            if (received < 0)
            {
                return false;
            }

            Finish();
            _core.SetResult(received);
            return true;
        }

        /// <summary>Lets go of the caller's buffer and token before the caller resumes (it may start another).</summary>
        private void Finish()
        {
            _buffer = default;
            _cancellationToken = default;
        }

        int IValueTaskSource<int>.GetResult(short token) => _core.GetResult(token);

        ValueTaskSourceStatus IValueTaskSource<int>.GetStatus(short token) => _core.GetStatus(token);

        void IValueTaskSource<int>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
            _core.OnCompleted(continuation, state, token, flags);
    }
}
