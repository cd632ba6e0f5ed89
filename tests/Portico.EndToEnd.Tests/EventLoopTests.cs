namespace Portico.EndToEnd.Tests;

/// <summary>
/// worker_processes N runs requests on N event-loop threads, nginx's worker count
/// (https://nginx.org/en/docs/ngx_core_module.html#worker_processes); see Portico.Server's EventLoop.
/// </summary>
public sealed class EventLoopTests
{
    // Portico's own loops (Portico.Server's Transport) are named portico-loop-N; the runtime names each epoll
    // thread of its socket engine ".NET Sockets" (Kestrel's socket transport, PORTICO_TRANSPORT=sockets).
    private const string EventLoopThreadName = "portico-loop-";
    private const string SocketEngineThreadName = ".NET Sockets";

    [Theory]
    [InlineData("1", 1, "")]
    [InlineData("3", 3, "")]
    [InlineData("1", 1, "sockets")]
    [InlineData("3", 3, "sockets")]
    public async Task Worker_processes_sets_the_event_loop_threads(string workers, int expected, string transport)
    {
        using var dir = new TempDir();
        dir.Write("www/index.html", "hello");
        var port = FreePort.Next();
        var conf = dir.Write("site.conf", $"worker_processes {workers};\nhttp {{ server {{ listen 127.0.0.1:{port}; root {dir.Path}/www; }} }}\n");
        var environment = transport.Length > 0 ? new Dictionary<string, string> { ["PORTICO_TRANSPORT"] = transport } : [];
        await using var portico = PorticoProcess.Start(dir.Path, environment, "-p", dir.Path + "/", "-c", conf);
        await portico.WaitForPortAsync(port);

        // The runtime starts an engine when a socket is assigned to it (round robin): use several connections.
        for (var i = 0; i < 8; i++)
        {
            var response = await RawHttp.GetAsync(port, "/index.html");
            Assert.Equal(200, response.Status);
            Assert.Equal("hello", response.BodyText);
        }

        Assert.Equal(expected, CountThreads(portico.Pid, transport.Length > 0 ? SocketEngineThreadName : EventLoopThreadName));
    }

    [Fact]
    public async Task An_error_log_given_with_e_keeps_worker_processes()
    {
        using var dir = new TempDir();
        dir.Write("www/index.html", "hello");
        var port = FreePort.Next();
        // Not the CPU count: that is what the loops would fall back to if the setting were lost.
        var workers = Environment.ProcessorCount + 1;
        var conf = dir.Write("site.conf", $"worker_processes {workers};\nhttp {{ server {{ listen 127.0.0.1:{port}; root {dir.Path}/www; }} }}\n");
        await using var portico = PorticoProcess.Start(dir.Path, "-p", dir.Path + "/", "-e", dir.Path + "/error.log", "-c", conf);
        await portico.WaitForPortAsync(port);
        for (var i = 0; i < 2 * workers + 2; i++)
        {
            Assert.Equal(200, (await RawHttp.GetAsync(port, "/index.html")).Status);
        }

        Assert.Equal(workers, CountThreads(portico.Pid, EventLoopThreadName));
    }

    [Fact]
    public async Task An_operator_environment_setting_wins_over_worker_processes()
    {
        using var dir = new TempDir();
        dir.Write("www/index.html", "hello");
        var port = FreePort.Next();
        var conf = dir.Write("site.conf", $"worker_processes 3;\nhttp {{ server {{ listen 127.0.0.1:{port}; root {dir.Path}/www; }} }}\n");
        await using var portico = PorticoProcess.Start(dir.Path, new Dictionary<string, string> { ["DOTNET_SYSTEM_NET_SOCKETS_THREAD_COUNT"] = "2" }, "-p", dir.Path + "/", "-c", conf);
        await portico.WaitForPortAsync(port);
        for (var i = 0; i < 8; i++)
        {
            Assert.Equal(200, (await RawHttp.GetAsync(port, "/index.html")).Status);
        }

        Assert.Equal(2, CountThreads(portico.Pid, EventLoopThreadName));
    }

    [Fact]
    public async Task A_reload_that_changes_worker_processes_says_a_restart_is_needed()
    {
        using var dir = new TempDir();
        var port = FreePort.Next();
        var log = Path.Combine(dir.Path, "error.log");
        string Config(int workers, string text) =>
            $"worker_processes {workers};\nerror_log {log} notice;\nhttp {{ access_log off; server {{ listen 127.0.0.1:{port}; return 200 \"{text}\"; }} }}\n";
        var conf = dir.Write("site.conf", Config(1, "one"));
        await using var portico = PorticoProcess.Start(dir.Path, "-p", dir.Path + "/", "-c", conf);
        await portico.WaitForPortAsync(port);

        dir.Write("site.conf", Config(2, "two"));
        portico.Signal("HUP");
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((await RawHttp.GetAsync(port, "/")).BodyText != "two" && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        // The rest of the config applies at once; the thread count stays until a restart.
        Assert.Equal("two", (await RawHttp.GetAsync(port, "/")).BodyText);

        // The error log is written by its own thread: the line may land a moment after the new config serves.
        const string restartNeeded = "worker_processes change takes effect after a restart (event-loop threads now: 1)";
        await Logging.LogServer.WaitUntilAsync(() => File.ReadAllText(log).Contains(restartNeeded, StringComparison.Ordinal), "the restart notice", () => File.ReadAllText(log));
        Assert.Contains("[notice] " , File.ReadAllText(log).Split('\n').Single(line => line.Contains(restartNeeded, StringComparison.Ordinal)), StringComparison.Ordinal);
        Assert.Equal(1, CountThreads(portico.Pid, EventLoopThreadName));
    }

    /// <summary>Threads whose name is <paramref name="name"/>, or starts with it when it ends in '-'.</summary>
    private static int CountThreads(int pid, string name) =>
        Directory.GetDirectories($"/proc/{pid}/task")
            .Select(task => File.ReadAllText(Path.Combine(task, "comm")).TrimEnd('\n'))
            .Count(comm => name.EndsWith('-') ? comm.StartsWith(name, StringComparison.Ordinal) : comm == name);
}
