using System.Collections.Concurrent;
using Portico.FastCgi.Client;
using Portico.FastCgi.Tests.Infrastructure;

namespace Portico.FastCgi.Tests;

/// <summary>
/// While as many connections are open as the pool may keep idle, and they come back often, a request with no idle
/// connection waits a moment for the next one handed back instead of opening one that would be closed again.
/// The clock is manual: the wait ends only when a connection comes back or the test moves time on.
/// </summary>
public sealed class ConnectionHandOffTests
{
    private static readonly TimeSpan HandOffWait = TimeSpan.FromMilliseconds(5);

    [Fact]
    public async Task Request_waits_for_a_returned_connection_instead_of_connecting()
    {
        await using var backend = new GatedBackend();
        var clock = new ManualTimeProvider();
        await using var client = backend.Client(clock);

        await backend.MakePoolOverflowAsync(client);
        Assert.Equal(2, backend.Server.AcceptedConnections);

        // A takes the one idle connection; B finds none and waits for it rather than connecting.
        var a = backend.GetAsync(client);
        await backend.WaitForRequestsAsync(1);
        var b = backend.GetAsync(client);
        await Task.Delay(100);
        Assert.False(b.IsCompleted);
        Assert.Equal(2, backend.Server.AcceptedConnections);

        backend.Release(1);
        Assert.Equal("ok", await a);
        await backend.WaitForRequestsAsync(1);
        backend.Release(1);
        Assert.Equal("ok", await b);

        // B ran on A's connection: nothing new was opened.
        Assert.Equal(2, backend.Server.AcceptedConnections);
        Assert.Equal(2, client.Pool.ConnectionsOpened);
    }

    [Fact]
    public async Task With_a_dispatcher_the_waiter_runs_when_the_dispatcher_says_and_nothing_else_takes_its_connection()
    {
        // An event-loop host posts the waiting request to run after the returning one has finished its response. In
        // between, the connection belongs to the waiter: it is not kept idle, not taken by another request, and the
        // hand-off timer's release of late waiters does not send the waiter off to connect.
        await using var backend = new GatedBackend();
        var clock = new ManualTimeProvider();
        var dispatched = new ConcurrentQueue<(Action<object?> Action, object? State)>();
        await using var client = backend.Client(clock, dispatcher: (action, state) => dispatched.Enqueue((action, state)));
        await backend.MakePoolOverflowAsync(client);
        Assert.Empty(dispatched);

        var a = backend.GetAsync(client);
        await backend.WaitForRequestsAsync(1);
        var b = backend.GetAsync(client);
        await Task.Delay(50);
        backend.Release(1);
        Assert.Equal("ok", await a);

        // A is done; B has been handed A's connection but has not run yet.
        Assert.Single(dispatched);
        Assert.Equal(0, client.Pool.IdleCount);
        clock.Advance(5 * HandOffWait);
        await Task.Delay(50);
        Assert.False(b.IsCompleted);
        Assert.Equal(3, backend.Requests("/x.php")); // the two that filled the pool, and A: not B
        Assert.Equal(2, backend.Server.AcceptedConnections);

        Assert.True(dispatched.TryDequeue(out var work));
        work.Action(work.State);
        await backend.WaitForRequestsAsync(1);
        backend.Release(1);
        Assert.Equal("ok", await b);
        Assert.Equal(2, backend.Server.AcceptedConnections);
        Assert.Equal(2, client.Pool.ConnectionsOpened);
    }

    [Fact]
    public async Task Request_cancelled_while_it_waits_for_a_hand_off_never_reaches_the_backend()
    {
        // The client that went away (nginx's 499) must not run its script: not on the connection handed back, not on a
        // new one.
        await using var backend = new GatedBackend();
        var clock = new ManualTimeProvider();
        await using var client = backend.Client(clock);
        await backend.MakePoolOverflowAsync(client);

        var a = backend.GetAsync(client);
        await backend.WaitForRequestsAsync(1);
        using var gone = new CancellationTokenSource();
        var b = client.SendAsync(new FastCgiRequest().Add("SCRIPT_FILENAME", "/b.php"), gone.Token);
        await Task.Delay(50);
        Assert.False(b.IsCompleted);
        await gone.CancelAsync();

        backend.Release(1);
        Assert.Equal("ok", await a);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => b);

        // A's connection came back untouched: the next request runs on it, and it is the only one that arrives.
        var c = backend.GetAsync(client);
        await backend.WaitForRequestsAsync(1);
        backend.Release(1);
        Assert.Equal("ok", await c);
        Assert.Equal(2, backend.Server.AcceptedConnections);
        Assert.Equal(0, backend.Requests("/b.php"));
    }

    [Fact]
    public async Task Waiting_request_connects_once_the_hand_off_wait_is_over()
    {
        await using var backend = new GatedBackend();
        var clock = new ManualTimeProvider();
        await using var client = backend.Client(clock);

        await backend.MakePoolOverflowAsync(client);
        var a = backend.GetAsync(client);
        await backend.WaitForRequestsAsync(1);
        var b = backend.GetAsync(client);
        await Task.Delay(50);
        Assert.Equal(2, backend.Server.AcceptedConnections);

        // A keeps its connection; once the wait is over B opens its own.
        clock.Advance(HandOffWait + TimeSpan.FromMilliseconds(1));
        await backend.WaitForRequestsAsync(1);
        Assert.Equal(3, backend.Server.AcceptedConnections);

        backend.Release(2);
        Assert.Equal("ok", await a);
        Assert.Equal("ok", await b);
    }

    [Fact]
    public async Task Connection_stuck_in_the_accept_queue_makes_the_next_return_close_while_the_waiters_wait_on()
    {
        await using var backend = new GatedBackend();
        var clock = new ManualTimeProvider();
        await using var client = backend.Client(clock);
        await backend.MakePoolOverflowAsync(client);

        // A holds the idle connection; B waits, then connects once the wait is over, and gets no answer.
        var a = backend.GetAsync(client, "/a.php");
        await backend.WaitForRequestsAsync(1);
        var b = backend.GetAsync(client, "/b.php");
        await Task.Delay(50);
        clock.Advance(HandOffWait + TimeSpan.FromMilliseconds(1));
        await backend.WaitForRequestsAsync(1);
        Assert.Equal(3, backend.Server.AcceptedConnections);
        backend.Release(1, "/a.php");
        Assert.Equal("ok", await a);

        // B's new connection waits past four hand-off waits. Quick requests on the idle connection show connections
        // coming back often again; then G holds it and C waits for it.
        clock.Advance(5 * HandOffWait);
        await backend.ReturnQuicklyAsync(client, 6);

        var g = backend.GetAsync(client, "/g.php");
        await backend.WaitForRequestsAsync(7);
        var c = backend.GetAsync(client, "/c.php");
        await Task.Delay(50);
        Assert.Equal(3, backend.Server.AcceptedConnections);

        // G's connection is not handed to C but closed, to free a worker for B's; C waits on, and opens nothing.
        backend.Release(1, "/g.php");
        Assert.Equal("ok", await g);
        await WaitUntilAsync(() => client.Pool.OpenCount == 1);
        await Task.Delay(50);
        Assert.False(c.IsCompleted);
        Assert.Equal(3, backend.Server.AcceptedConnections);

        // B's answer comes; its connection goes on to C.
        backend.Release(1, "/b.php");
        Assert.Equal("ok", await b);
        await backend.WaitForRequestsAsync(1);
        backend.Release(1, "/c.php");
        Assert.Equal("ok", await c);
        Assert.Equal(3, backend.Server.AcceptedConnections);
    }

    [Fact]
    public async Task With_the_keepalive_count_open_a_request_waits_though_no_return_was_closed()
    {
        await using var backend = new GatedBackend();
        var clock = new ManualTimeProvider();
        await using var client = backend.Client(clock, maxIdle: 2);

        // Two connections, both kept idle: nothing was ever closed.
        await backend.RunTwoAtOnceAsync(client);
        Assert.Equal(2, client.Pool.IdleCount);

        // A and B take them; C would open a third connection the pool could not keep, so it waits for one.
        var a = backend.GetAsync(client, "/a.php");
        var b = backend.GetAsync(client, "/b.php");
        await backend.WaitForRequestsAsync(2);
        var c = backend.GetAsync(client, "/c.php");
        await Task.Delay(100);
        Assert.False(c.IsCompleted);
        Assert.Equal(2, backend.Server.AcceptedConnections);

        backend.Release(1, "/a.php");
        Assert.Equal("ok", await a);
        await backend.WaitForRequestsAsync(1);
        backend.Release(1, "/b.php");
        backend.Release(1, "/c.php");
        Assert.Equal("ok", await b);
        Assert.Equal("ok", await c);
        Assert.Equal(2, backend.Server.AcceptedConnections);
        Assert.Equal(2, client.Pool.OpenCount);
    }

    [Fact]
    public async Task Every_ten_waits_one_request_connects_all_the_same_in_case_more_connections_help()
    {
        await using var backend = new GatedBackend();
        var clock = new ManualTimeProvider();
        await using var client = backend.Client(clock, maxIdle: 2);
        await backend.RunTwoAtOnceAsync(client);

        // Ten hand-off waits (50 ms) without a connect, while connections keep coming back often.
        clock.Advance(10 * HandOffWait + TimeSpan.FromMilliseconds(1));
        await backend.ReturnQuicklyAsync(client, 10);

        // A and B hold both connections. C would wait, but it is the probe: it connects. D, right after, waits.
        var a = backend.GetAsync(client, "/a.php");
        var b = backend.GetAsync(client, "/b.php");
        await backend.WaitForRequestsAsync(12);
        var c = backend.GetAsync(client, "/c.php");
        await backend.WaitForRequestsAsync(1);
        Assert.Equal(3, backend.Server.AcceptedConnections);
        var d = backend.GetAsync(client, "/d.php");
        await Task.Delay(100);
        Assert.False(d.IsCompleted);
        Assert.Equal(3, backend.Server.AcceptedConnections);

        backend.Release(1, "/a.php");
        Assert.Equal("ok", await a);
        await backend.WaitForRequestsAsync(1);
        backend.Release(1, "/b.php");
        backend.Release(1, "/c.php");
        backend.Release(1, "/d.php");
        Assert.Equal("ok", await b);
        Assert.Equal("ok", await c);
        Assert.Equal("ok", await d);
        Assert.Equal(3, backend.Server.AcceptedConnections);
    }

    [Fact]
    public async Task A_connection_stuck_in_the_accept_queue_costs_one_close_not_one_per_return()
    {
        await using var backend = new GatedBackend();
        var clock = new ManualTimeProvider();
        await using var client = backend.Client(clock, maxIdle: 2);
        await backend.RunTwoAtOnceAsync(client);

        // A and A2 hold both connections; B waits, then connects once the wait is over, and gets no answer.
        var a = backend.GetAsync(client, "/a.php");
        var a2 = backend.GetAsync(client, "/a2.php");
        await backend.WaitForRequestsAsync(2);
        var b = backend.GetAsync(client, "/b.php");
        await Task.Delay(50);
        clock.Advance(HandOffWait + TimeSpan.FromMilliseconds(1));
        await backend.WaitForRequestsAsync(1);
        Assert.Equal(3, backend.Server.AcceptedConnections);
        backend.Release(1, "/a.php");
        backend.Release(1, "/a2.php");
        Assert.Equal("ok", await a);
        Assert.Equal("ok", await a2);

        // B's connection waits past four hand-off waits; quick requests show connections coming back often again.
        clock.Advance(5 * HandOffWait);
        await backend.ReturnQuicklyAsync(client, 8);

        // G1 and G2 hold the two kept connections, C waits.
        var g1 = backend.GetAsync(client, "/g1.php");
        var g2 = backend.GetAsync(client, "/g2.php");
        await backend.WaitForRequestsAsync(10);
        var c = backend.GetAsync(client, "/c.php");
        await Task.Delay(50);
        Assert.False(c.IsCompleted);

        // G1's return is closed to free a worker for B's connection; G2's, right after, goes on to C.
        backend.Release(1, "/g1.php");
        Assert.Equal("ok", await g1);
        backend.Release(1, "/g2.php");
        Assert.Equal("ok", await g2);
        await backend.WaitForRequestsAsync(1);
        Assert.Equal(3, backend.Server.AcceptedConnections);
        Assert.Equal(2, client.Pool.OpenCount);

        backend.Release(1, "/b.php");
        backend.Release(1, "/c.php");
        Assert.Equal("ok", await b);
        Assert.Equal("ok", await c);
    }

    [Fact]
    public async Task A_connection_lost_mid_response_sends_the_first_waiter_to_connect_at_once()
    {
        await using var backend = new GatedBackend();
        var clock = new ManualTimeProvider();
        await using var client = backend.Client(clock);
        await backend.MakePoolOverflowAsync(client);

        // A holds the idle connection and B waits for it; the backend dies in the middle of A's answer.
        var a = backend.GetAsync(client, GatedBackend.DyingScript);
        await backend.WaitForRequestsAsync(1);
        var b = backend.GetAsync(client);
        await Task.Delay(50);
        Assert.Equal(2, backend.Server.AcceptedConnections);
        backend.Release(1, GatedBackend.DyingScript);
        await Assert.ThrowsAnyAsync<Exception>(() => a);

        // B connects in its place without waiting for the clock.
        await backend.WaitForRequestsAsync(1);
        Assert.Equal(3, backend.Server.AcceptedConnections);
        backend.Release(1);
        Assert.Equal("ok", await b);
        Assert.Equal(1, client.Pool.OpenCount);
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 200 && !condition(); i++)
        {
            await Task.Delay(10);
        }

        Assert.True(condition());
    }

    /// <summary>
    /// The hand-off timer is lazy: armed once for the waiters queued, not per waiter. B waits and is served by A's
    /// return; C comes after and waits behind B, under the timer armed for B. It must neither cut C's wait short nor
    /// leave C waiting past the time it checks again.
    /// </summary>
    [Theory]
    // A's return serves B at once, C comes 3 ms later: the timer fires for B's wait with C 3 ms into its 5, then again
    // for C's own end, and C connects.
    [InlineData(0, 3, new[] { 3 }, 3)]
    // A's return serves B 4 ms in, C comes right after: the timer fires 2 ms later, sees connections coming back (they
    // serve the waiters in turn) and looks again only 20 ms on, when C, late, connects.
    [InlineData(4, 0, new[] { 2, 5 }, 16)]
    public async Task A_later_waiter_keeps_waiting_until_the_timer_finds_it_late(int returnAfterMs, int thirdAfterMs, int[] stillWaitingAfterMs, int connectsAfterMs)
    {
        await using var backend = new GatedBackend();
        var clock = new ManualTimeProvider { ManualTimers = true };
        await using var client = backend.Client(clock);
        await backend.MakePoolOverflowAsync(client);
        var (b, c) = await backend.ServeWaiterThenQueueAnotherAsync(
            client, clock, TimeSpan.FromMilliseconds(returnAfterMs), TimeSpan.FromMilliseconds(thirdAfterMs));

        foreach (var ms in stillWaitingAfterMs)
        {
            clock.Advance(TimeSpan.FromMilliseconds(ms));
            await Task.Delay(50);
            Assert.Equal(2, backend.Server.AcceptedConnections);
        }

        // No connection came back: C connects.
        clock.Advance(TimeSpan.FromMilliseconds(connectsAfterMs));
        await backend.WaitForRequestsAsync(1);
        Assert.Equal(3, backend.Server.AcceptedConnections);

        backend.Release(1);
        backend.Release(1, "/c.php");
        Assert.Equal("ok", await b);
        Assert.Equal("ok", await c);
    }

    [Fact]
    public async Task A_waiter_late_only_because_others_came_first_waits_on_while_connections_come_back()
    {
        await using var backend = new GatedBackend();
        var clock = new ManualTimeProvider { ManualTimers = true };
        await using var client = backend.Client(clock);
        await backend.MakePoolOverflowAsync(client);

        // A holds the connection; B and C wait. A's return serves B 4 ms in.
        var a = backend.GetAsync(client);
        await backend.WaitForRequestsAsync(1);
        var b = backend.GetAsync(client);
        var c = backend.GetAsync(client, "/c.php");
        await Task.Delay(50);
        clock.Advance(TimeSpan.FromMilliseconds(4));
        backend.Release(1);
        Assert.Equal("ok", await a);
        await backend.WaitForRequestsAsync(1);

        // The timer finds C 5 ms old, but a connection came back 1 ms ago: the queue moves, C waits on.
        clock.Advance(TimeSpan.FromMilliseconds(1));
        await Task.Delay(50);
        Assert.False(c.IsCompleted);
        Assert.Equal(2, backend.Server.AcceptedConnections);

        // Nothing comes back for the next check (20 ms): C goes and connects.
        clock.Advance(TimeSpan.FromMilliseconds(20));
        await backend.WaitForRequestsAsync(1);
        Assert.Equal(3, backend.Server.AcceptedConnections);
        backend.Release(1);
        backend.Release(1, "/c.php");
        Assert.Equal("ok", await b);
        Assert.Equal("ok", await c);
    }

    [Fact]
    public async Task Without_overflow_a_request_connects_at_once()
    {
        await using var backend = new GatedBackend();
        await using var client = backend.Client(new ManualTimeProvider());

        // Two requests at once on an empty pool: both connect, as nginx does; nothing waits.
        var first = backend.GetAsync(client);
        var second = backend.GetAsync(client);
        await backend.WaitForRequestsAsync(2);
        Assert.Equal(2, backend.Server.AcceptedConnections);
        backend.Release(2);
        Assert.Equal("ok", await first);
        Assert.Equal("ok", await second);
    }

    /// <summary>A backend that answers each request only when the test releases its script.</summary>
    private sealed class GatedBackend : IAsyncDisposable
    {
        /// <summary>Answers with a head and part of a body, then resets the connection.</summary>
        public const string DyingScript = "/die.php";
        private const string DefaultScript = "/x.php";
        private readonly ConcurrentDictionary<string, SemaphoreSlim> _gates = new();
        private readonly SemaphoreSlim _arrived = new(0);
        private readonly ConcurrentDictionary<string, int> _requests = new();

        public GatedBackend()
        {
            Server = new FakeFastCgiServer(async c =>
            {
                while (await c.ReadRequestAsync() is { } request)
                {
                    var script = request.Params["SCRIPT_FILENAME"];
                    _requests.AddOrUpdate(script, 1, static (_, n) => n + 1);
                    _arrived.Release();
                    await Gate(script).WaitAsync(c.Stopping);
                    if (script == DyingScript)
                    {
                        await c.SendAsync(Records.Stdout("A: b\n\npart"));
                        c.Reset();
                        return;
                    }

                    await c.SendAsync(Records.Response("A: b\n\nok"));
                }
            });
        }

        public FakeFastCgiServer Server { get; }

        public FastCgiClient Client(TimeProvider clock, int maxIdle = 1, Action<Action<object?>, object?>? dispatcher = null) => new(
            Server.EndPoint,
            new FastCgiClientOptions { KeepConnection = true },
            new FastCgiPoolOptions { MaxIdleConnections = maxIdle, HandOffWait = HandOffWait, TimeProvider = clock, HandOffDispatcher = dispatcher });

        public async Task<string> GetAsync(FastCgiClient client, string script = DefaultScript)
        {
            await using var response = await client.SendAsync(new FastCgiRequest().Add("SCRIPT_FILENAME", script), Serve.TestTimeout());
            return await Serve.ReadBodyAsync(response, Serve.TestTimeout());
        }

        public void Release(int count, string script = DefaultScript) => Gate(script).Release(count);

        /// <summary>Requests for <paramref name="script"/> that reached the backend.</summary>
        public int Requests(string script) => _requests.GetValueOrDefault(script);

        /// <summary>Waits for <paramref name="count"/> more requests to reach the backend.</summary>
        public async Task WaitForRequestsAsync(int count)
        {
            for (var i = 0; i < count; i++)
            {
                Assert.True(await _arrived.WaitAsync(TimeSpan.FromSeconds(10)), "the backend did not get the request");
            }
        }

        /// <summary>
        /// A holds the idle connection and B waits for it; A comes back <paramref name="returnAfter"/> later and serves
        /// B; C comes <paramref name="thirdAfter"/> after that and waits (for script /c.php). Returns B and C, unanswered.
        /// </summary>
        public async Task<(Task<string> B, Task<string> C)> ServeWaiterThenQueueAnotherAsync(
            FastCgiClient client, ManualTimeProvider clock, TimeSpan returnAfter, TimeSpan thirdAfter)
        {
            var a = GetAsync(client);
            await WaitForRequestsAsync(1);
            var b = GetAsync(client);
            await Task.Delay(50);
            clock.Advance(returnAfter);
            Release(1);
            Assert.Equal("ok", await a);
            await WaitForRequestsAsync(1);
            clock.Advance(thirdAfter);
            var c = GetAsync(client, "/c.php");
            await Task.Delay(50);
            return (b, c);
        }

        /// <summary>Two requests at once on a pool that keeps one idle connection: the second one back is closed.</summary>
        public async Task MakePoolOverflowAsync(FastCgiClient client)
        {
            await RunTwoAtOnceAsync(client);
            Assert.Equal(1, client.Pool.IdleCount);
        }

        /// <summary>Two requests at once, answered together: two connections opened and handed back.</summary>
        public async Task RunTwoAtOnceAsync(FastCgiClient client)
        {
            var first = GetAsync(client);
            var second = GetAsync(client);
            await WaitForRequestsAsync(2);
            Release(2);
            Assert.Equal("ok", await first);
            Assert.Equal("ok", await second);
        }

        /// <summary><paramref name="count"/> requests one after another, answered at once: connections come back often.</summary>
        public async Task ReturnQuicklyAsync(FastCgiClient client, int count)
        {
            Release(count, "/q.php");
            for (var i = 0; i < count; i++)
            {
                Assert.Equal("ok", await GetAsync(client, "/q.php"));
            }
        }

        public async ValueTask DisposeAsync()
        {
            foreach (var gate in _gates.Values)
            {
                gate.Release(100);
            }

            await Server.DisposeAsync();
        }

        private SemaphoreSlim Gate(string script) => _gates.GetOrAdd(script, _ => new SemaphoreSlim(0));
    }
}
