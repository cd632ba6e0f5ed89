using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using static Portico.Server.Transport.LinuxSockets;

namespace Portico.Server.Transport;

/// <summary>
/// One event-loop thread, as an nginx worker runs one: it waits in epoll_wait(2) and runs the handler of each
/// ready file descriptor to its next wait, inline, with no hop to a thread pool. Client connections accepted
/// here and the FastCGI connections their requests open live on the same loop, so a proxied request runs on
/// one thread from the client's bytes to the backend's answer. Other threads hand work to the loop with
/// <see cref="Post"/> (an eventfd wakes it).
/// </summary>
internal sealed unsafe class EpollLoop
{
    private const ulong WakeToken = ulong.MaxValue;
    private const int MaxEvents = 256;

    [ThreadStatic]
    private static EpollLoop? t_current;

    private readonly int _epoll;
    private readonly int _wakeFd;
    private readonly ConcurrentQueue<(Action<object?> Action, object? State)> _posted = new();
    private readonly Lock _slotsLock = new();
    private Slot[] _slots = new Slot[64];
    private int _nextUnused;
    private int _freeHead = -1;
    private int _wakePending;

    private struct Slot
    {
        public IEpollHandler? Handler;
        public uint Generation;
        public int NextFree;
    }

    public EpollLoop(int index)
    {
        Index = index;
        _epoll = EpollCreate(EPOLL_CLOEXEC);
        if (_epoll < 0)
        {
            throw SocketErrors.Exception(Marshal.GetLastPInvokeError());
        }

        _wakeFd = EventFd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (_wakeFd < 0)
        {
            throw SocketErrors.Exception(Marshal.GetLastPInvokeError());
        }

        Control(EPOLL_CTL_ADD, _wakeFd, EPOLLIN | EPOLLET, WakeToken);
        var thread = new Thread(Run) { IsBackground = true, Name = $"portico-loop-{index}" };
        thread.Start();
    }

    /// <summary>This loop's place in its group (a worker's number).</summary>
    public int Index { get; }

    /// <summary>The loop whose thread is running the caller, or null off the loops.</summary>
    public static EpollLoop? Current => t_current;

    /// <summary>Adds <paramref name="fd"/> to this loop's epoll set; returns the token to unregister with.</summary>
    public ulong Register(int fd, uint events, IEpollHandler handler)
    {
        ulong token;
        lock (_slotsLock)
        {
            int index;
            if (_freeHead >= 0)
            {
                index = _freeHead;
                _freeHead = _slots[index].NextFree;
            }
            else
            {
                if (_nextUnused == _slots.Length)
                {
                    var bigger = new Slot[_slots.Length * 2];
                    Array.Copy(_slots, bigger, _slots.Length);
                    Volatile.Write(ref _slots, bigger);
                }

                index = _nextUnused++;
            }

            ref var slot = ref _slots[index];
            slot.Handler = handler;
            token = ((ulong)slot.Generation << 32) | (uint)index;
        }

        try
        {
            Control(EPOLL_CTL_ADD, fd, events, token);
        }
        catch
        {
            Unregister(token);
            throw;
        }

        return token;
    }

    /// <summary>Forgets a registration. The caller closes the descriptor (which leaves the epoll set) or
    /// calls <see cref="Remove"/> first when it stays open.</summary>
    public void Unregister(ulong token)
    {
        var index = (int)(uint)token;
        lock (_slotsLock)
        {
            ref var slot = ref _slots[index];
            if (slot.Generation != (uint)(token >> 32))
            {
                return;
            }

            slot.Handler = null;
            slot.Generation++;
            slot.NextFree = _freeHead;
            _freeHead = index;
        }
    }

    /// <summary>Takes a descriptor that stays open out of the epoll set (a listening socket being unbound).</summary>
    public void Remove(int fd) => EpollCtl(_epoll, EPOLL_CTL_DEL, fd, null);

    /// <summary>Runs <paramref name="action"/> on the loop thread, after the events in hand.</summary>
    public void Post(Action<object?> action, object? state)
    {
        _posted.Enqueue((action, state));
        if (t_current == this)
        {
            // Posted by the loop itself: it runs the queue before it waits again, no wake-up needed.
            return;
        }

        if (Interlocked.Exchange(ref _wakePending, 1) == 0)
        {
            ulong one = 1;
            Write(_wakeFd, &one, sizeof(ulong));
        }
    }

    private void Control(int op, int fd, uint events, ulong data)
    {
        int result;
        if (PackedEpollEvent)
        {
            var ev = new EpollEventPacked { Events = events, Data = data };
            result = EpollCtl(_epoll, op, fd, &ev);
        }
        else
        {
            var ev = new EpollEventAligned { Events = events, Data = data };
            result = EpollCtl(_epoll, op, fd, &ev);
        }

        if (result < 0)
        {
            throw SocketErrors.Exception(Marshal.GetLastPInvokeError());
        }
    }

    private void Run()
    {
        t_current = this;
        var stride = PackedEpollEvent ? sizeof(EpollEventPacked) : sizeof(EpollEventAligned);
        var events = (byte*)NativeMemory.Alloc((nuint)(MaxEvents * stride));
        while (true)
        {
            var count = EpollWait(_epoll, events, MaxEvents, -1);
            if (count < 0)
            {
                // EINTR: a signal arrived (SIGHUP for reload). Anything else cannot happen with a valid epoll
                // descriptor; should it, pause rather than spin.
                if (Marshal.GetLastPInvokeError() != EINTR)
                {
                    Thread.Sleep(10);
                }

                continue;
            }

            LoopClock.Turn();
            for (var i = 0; i < count; i++)
            {
                uint mask;
                ulong data;
                if (PackedEpollEvent)
                {
                    var ev = (EpollEventPacked*)(events + (i * stride));
                    (mask, data) = (ev->Events, ev->Data);
                }
                else
                {
                    var ev = (EpollEventAligned*)(events + (i * stride));
                    (mask, data) = (ev->Events, ev->Data);
                }

                if (data == WakeToken)
                {
                    ulong ignored;
                    Read(_wakeFd, &ignored, sizeof(ulong));
                    Volatile.Write(ref _wakePending, 0);
                    continue;
                }

                Dispatch(data, mask);
            }

            RunPosted();
        }
    }

    private void Dispatch(ulong token, uint mask)
    {
        var slots = Volatile.Read(ref _slots);
        var index = (int)(uint)token;
        if (index >= slots.Length)
        {
            return;
        }

        ref var slot = ref slots[index];
        var handler = slot.Handler;
        if (handler is null || slot.Generation != (uint)(token >> 32))
        {
            return;
        }

        try
        {
            handler.OnEvents(mask);
        }
        catch (Exception ex)
        {
            // A handler's failure belongs to its connection; the loop serves every other one.
            LoopFailures.Report(ex);
        }
    }

    private void RunPosted()
    {
        while (_posted.TryDequeue(out var work))
        {
            try
            {
                work.Action(work.State);
            }
            catch (Exception ex)
            {
                LoopFailures.Report(ex);
            }
        }
    }
}
