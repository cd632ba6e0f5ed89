using Portico.Server.Transport;

namespace Portico.Server.Tests.Transport;

/// <summary>An event loop outlives a handler that throws: the failure is reported and the other descriptors are
/// still served, as one bad connection must not stop a worker.</summary>
public sealed class EpollLoopTests
{
    private sealed class Handler(Action onEvents) : IEpollHandler
    {
        public void OnEvents(uint events) => onEvents();
    }

    private static int NewEventFd() => LinuxSockets.EventFd(0, LinuxSockets.EFD_CLOEXEC | LinuxSockets.EFD_NONBLOCK);

    private static unsafe void Signal(int fd)
    {
        ulong one = 1;
        LinuxSockets.Write(fd, &one, sizeof(ulong));
    }

    [Fact]
    public async Task A_throwing_handler_is_reported_and_the_loop_serves_the_others()
    {
        var loop = new EpollLoop(7);
        var reported = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        LoopFailures.Sink = message => reported.TrySetResult(message);
        var bad = NewEventFd();
        var good = NewEventFd();
        try
        {
            loop.Register(bad, LinuxSockets.EPOLLIN | LinuxSockets.EPOLLET, new Handler(() => throw new InvalidOperationException("handler bug")));
            var served = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            loop.Register(good, LinuxSockets.EPOLLIN | LinuxSockets.EPOLLET, new Handler(() => served.TrySetResult()));

            Signal(bad);
            var message = await reported.Task.WaitAsync(TimeSpan.FromSeconds(5));
            Assert.Contains("event loop handler failed", message, StringComparison.Ordinal);
            Assert.Contains("handler bug", message, StringComparison.Ordinal);

            Signal(good);
            await served.Task.WaitAsync(TimeSpan.FromSeconds(5));
        }
        finally
        {
            LoopFailures.Sink = null;
            LinuxSockets.Close(bad);
            LinuxSockets.Close(good);
        }
    }

    [Fact]
    public async Task Posted_work_runs_on_the_loop_thread()
    {
        var loop = new EpollLoop(8);
        var ran = new TaskCompletionSource<EpollLoop?>(TaskCreationOptions.RunContinuationsAsynchronously);
        loop.Post(_ => ran.TrySetResult(EpollLoop.Current), null);
        Assert.Same(loop, await ran.Task.WaitAsync(TimeSpan.FromSeconds(5)));
    }

    [Fact]
    public async Task Work_the_loop_posts_to_itself_runs_after_the_event_in_hand_without_another_event()
    {
        // A post from the loop thread skips the wake-up write: the loop must still run it before it waits again,
        // after the handler that posted it has returned (a FastCGI hand-off posted during a response).
        var loop = new EpollLoop(9);
        var fd = NewEventFd();
        try
        {
            var order = new List<string>();
            var ran = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            loop.Register(fd, LinuxSockets.EPOLLIN | LinuxSockets.EPOLLET, new Handler(() =>
            {
                loop.Post(_ =>
                {
                    order.Add("posted");
                    loop.Post(_ =>
                    {
                        order.Add("posted by posted");
                        ran.TrySetResult();
                    }, null);
                }, null);
                order.Add("handler");
            }));

            Signal(fd);
            await ran.Task.WaitAsync(TimeSpan.FromSeconds(5));
            Assert.Equal(["handler", "posted", "posted by posted"], order);
        }
        finally
        {
            LinuxSockets.Close(fd);
        }
    }
}
