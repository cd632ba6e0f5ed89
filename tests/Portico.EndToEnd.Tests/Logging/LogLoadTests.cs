using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;

namespace Portico.EndToEnd.Tests.Logging;

/// <summary>
/// Thousands of requests from many kept-alive connections, then a graceful stop: every request
/// has exactly one whole line on disk, none torn or interleaved, with and without
/// <c>buffer=</c>/<c>flush=</c> (https://nginx.org/en/docs/http/ngx_http_log_module.html#access_log).
/// </summary>
public sealed partial class LogLoadTests
{
    private const int Connections = 50;
    private const int PerConnection = 100;

    [Theory]
    [InlineData("", false)]
    [InlineData(" buffer=64k flush=5s", false)]
    [InlineData(" buffer=4k", true)]
    public async Task Every_request_has_exactly_one_whole_line_after_graceful_stop(string buffering, bool sigquit)
    {
        await using var server = await LogServer.StartAsync($$"""
            http {
                log_format load '$remote_addr [$time_local] "$request" $status $body_bytes_sent "$http_user_agent" c=$connection n=$connection_requests';
                access_log logs/load.log load{{buffering}};
                server {
                    listen 127.0.0.1:{port};
                    root {root};
                }
            }
            """);

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await Task.WhenAll(Enumerable.Range(0, Connections).Select(c => Task.Run(() => RunConnectionAsync(server.Port, c, cts.Token))));

        // Stop at once: with flush=5s the buffered lines are still in memory and must reach the disk now.
        if (sigquit)
        {
            server.Process.Signal("QUIT");
            Assert.Equal(0, await server.Process.WaitForExitAsync(LogServer.Patience));
        }
        else
        {
            await server.QuitAsync();
        }

        var bytes = File.ReadAllBytes(server.Log("load.log"));
        Assert.True(bytes.Length > 0 && bytes[^1] == (byte)'\n', "the file must end with a whole line");
        var lines = Encoding.UTF8.GetString(bytes)[..^1].Split('\n');
        Assert.Equal(Connections * PerConnection, lines.Length);

        var seen = new HashSet<(int, int)>();
        var perConnection = new Dictionary<int, int>();
        foreach (var line in lines)
        {
            var m = Line().Match(line);
            Assert.True(m.Success, "torn or interleaved line: " + line);
            var c = int.Parse(m.Groups["c"].Value);
            var i = int.Parse(m.Groups["i"].Value);
            Assert.True(seen.Add((c, i)), "logged twice: " + line);
            Assert.Equal((i + 1).ToString(), m.Groups["n"].Value);
            Assert.Equal(i * 7, m.Groups["u"].Length);

            // Lines of one connection keep their order (one request at a time on a keep-alive connection).
            var last = perConnection.GetValueOrDefault(c, -1);
            Assert.True(i == last + 1, $"connection {c}: request {i} after {last}");
            perConnection[c] = i;
        }
    }

    [Fact]
    public async Task Requests_answered_while_stopping_are_all_logged()
    {
        await using var server = await LogServer.StartAsync("""
            http {
                log_format load '$request_uri $status';
                access_log logs/load.log load buffer=32k flush=10s;
                server {
                    listen 127.0.0.1:{port};
                    root {root};
                }
            }
            """);

        // Clients keep sending until the server goes away; "quit" arrives in the middle.
        var answered = new System.Collections.Concurrent.ConcurrentBag<string>();
        var sent = 0;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var clients = Enumerable.Range(0, 20).Select(c => Task.Run(async () =>
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync("127.0.0.1", server.Port, cts.Token);
                var stream = client.GetStream();
                for (var i = 0; !cts.IsCancellationRequested; i++)
                {
                    var target = $"/hello.txt?c={c}&i={i}";
                    Interlocked.Increment(ref sent);
                    await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n"), cts.Token);
                    var response = await RawHttp.ReadResponseAsync(stream, false, cts.Token);
                    answered.Add($"{target} {response.Status}");
                }
            }
            catch (Exception e) when (e is IOException or SocketException)
            {
                // The server closed the connection while stopping.
            }
        })).ToArray();

        await LogServer.WaitUntilAsync(() => answered.Count >= 2000, "2000 answers");
        await server.QuitAsync();
        await Task.WhenAll(clients).WaitAsync(TimeSpan.FromSeconds(30));

        var lines = LogServer.ReadLines(server.Log("load.log"));
        Assert.Equal(lines.Length, lines.Distinct().Count());
        var missing = answered.Except(lines).ToList();
        Assert.True(missing.Count == 0, $"{missing.Count} answered requests have no line, e.g. {missing.FirstOrDefault()}");
        Assert.InRange(lines.Length, answered.Count, Volatile.Read(ref sent));
    }

    [Theory]
    [InlineData("")]
    [InlineData(" buffer=16k flush=1m")]
    public async Task Reloads_under_load_lose_no_line(string buffering)
    {
        // Each reload moves the access log to another file; requests in flight on the old
        // configuration still finish into the old file. Every answered request is in exactly one.
        const string Http = """
            http {
                log_format short '$request_uri $status';
                access_log logs/{file} short{buffering};
                server {
                    listen 127.0.0.1:{port};
                    root {root};
                }
            }
            """;
        var http = Http.Replace("{buffering}", buffering, StringComparison.Ordinal);
        await using var server = await LogServer.StartAsync(http.Replace("{file}", "gen0.log", StringComparison.Ordinal));
        var answered = new System.Collections.Concurrent.ConcurrentBag<string>();
        using var stop = new CancellationTokenSource();
        var clients = Enumerable.Range(0, 10).Select(c => Task.Run(async () =>
        {
            var client = new TcpClient();
            try
            {
                await client.ConnectAsync("127.0.0.1", server.Port);
                var stream = client.GetStream();
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                for (var i = 0; !stop.IsCancellationRequested; i++)
                {
                    var target = $"/hello.txt?c={c}&i={i}";
                    await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n"), timeout.Token);
                    var response = await RawHttp.ReadResponseAsync(stream, false, timeout.Token);
                    answered.Add($"{target} {response.Status}");
                    if (response.Header("Connection") == "close")
                    {
                        // keepalive_requests (1000): the connection's last response; go on on a new one.
                        client.Dispose();
                        client = new TcpClient();
                        await client.ConnectAsync("127.0.0.1", server.Port);
                        stream = client.GetStream();
                    }
                }
            }
            finally
            {
                client.Dispose();
            }
        })).ToArray();

        for (var generation = 1; generation <= 3; generation++)
        {
            var before = answered.Count;
            await LogServer.WaitUntilAsync(() => answered.Count >= before + 300, "more answers");
            File.WriteAllText(server.ConfPath, LogServer.Expand($"pid {{prefix}}/portico.pid;\n{http.Replace("{file}", $"gen{generation}.log", StringComparison.Ordinal)}\n", server.Dir.Path, server.Port));
            await server.SignalAsync("reload");
            await LogServer.WaitUntilAsync(() => File.Exists(server.Log($"gen{generation}.log")), $"gen{generation}.log");
        }

        var last = answered.Count;
        await LogServer.WaitUntilAsync(() => answered.Count >= last + 300, "answers after the last reload");
        stop.Cancel();
        await Task.WhenAll(clients).WaitAsync(TimeSpan.FromSeconds(30));
        await server.QuitAsync();

        var perFile = Enumerable.Range(0, 4).Select(g => LogServer.ReadLines(server.Log($"gen{g}.log"))).ToArray();
        Assert.All(perFile, lines => Assert.NotEmpty(lines));
        var all = perFile.SelectMany(l => l).ToList();
        Assert.Equal(all.Count, all.Distinct().Count());
        Assert.Equal(answered.Order(StringComparer.Ordinal), all.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Quit_flushes_buffered_lines_when_started_in_the_background_of_a_script()
    {
        // "portico &" in a non-interactive shell starts with SIGQUIT ignored (POSIX: background jobs
        // ignore SIGINT and SIGQUIT); "portico -s quit" must still stop it gracefully.
        using var dir = new TempDir();
        dir.Write("www/hello.txt", "hello world\n");
        var port = FreePort.Next();
        var conf = dir.Write("portico.conf", LogServer.Expand("""
            pid {prefix}/portico.pid;
            http {
                log_format short '$request_uri $status';
                access_log logs/access.log short buffer=64k flush=1m;
                server {
                    listen 127.0.0.1:{port};
                    root {root};
                }
            }
            """, dir.Path, port));
        var info = new System.Diagnostics.ProcessStartInfo("/bin/sh")
        {
            ArgumentList = { "-c", $"trap '' QUIT INT; exec '{PorticoProcess.BinaryPath}' -p '{dir.Path}/' -c '{conf}' >/dev/null 2>&1" },
            UseShellExecute = false,
        };
        using var process = System.Diagnostics.Process.Start(info)!;
        try
        {
            await LogServer.WaitUntilAsync(() => File.Exists(Path.Combine(dir.Path, "portico.pid")), "pid file");
            for (var i = 0; i < 10; i++)
            {
                Assert.Equal(200, (await RawHttp.GetAsync(port, $"/hello.txt?i={i}")).Status);
            }

            var (code, _, stderr) = await PorticoProcess.RunAsync(dir.Path, "-p", dir.Path + "/", "-c", conf, "-s", "quit");
            Assert.True(code == 0, stderr);
            using var cts = new CancellationTokenSource(LogServer.Patience);
            await process.WaitForExitAsync(cts.Token);
            Assert.Equal(0, process.ExitCode);
            Assert.Equal(10, LogServer.ReadLines(Path.Combine(dir.Path, "logs", "access.log")).Length);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
                await process.WaitForExitAsync();
            }
        }
    }

    private static async Task RunConnectionAsync(int port, int c, CancellationToken token)
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", port, token);
        var stream = client.GetStream();
        for (var i = 0; i < PerConnection; i++)
        {
            var target = i % 10 == 9 ? $"/missing?c={c}&i={i}" : $"/hello.txt?c={c}&i={i}";
            var request = $"GET {target} HTTP/1.1\r\nHost: load\r\nUser-Agent: load-{c}-{i} \"{new string('u', i * 7)}\"\r\n\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(request), token);
            var response = await RawHttp.ReadResponseAsync(stream, false, token);
            Assert.Equal(i % 10 == 9 ? 404 : 200, response.Status);
        }
    }

    [GeneratedRegex("""^127\.0\.0\.1 \[\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] "GET /(hello\.txt|missing)\?c=(?<c>\d+)&i=(?<i>\d+) HTTP/1\.1" (200 12|404 \d+) "load-\k<c>-\k<i> \\x22(?<u>u*)\\x22" c=\d+ n=(?<n>\d+)$""")]
    private static partial Regex Line();
}
