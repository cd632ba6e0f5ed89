namespace Portico.EndToEnd.Tests.Logging;

/// <summary>
/// Where lines go: <c>access_log stdout</c>/<c>stderr</c> for containers, and paths built from
/// variables (https://nginx.org/en/docs/http/ngx_http_log_module.html#access_log: "The file path
/// can contain variables").
/// </summary>
public sealed class LogDestinationTests
{
    [Fact]
    public async Task Stdout_and_stderr_access_logs_reach_the_process_streams()
    {
        await using var server = await LogServer.StartAsync("""
            http {
                log_format out 'OUT $request_uri $status';
                log_format err 'ERR $request_uri $status';
                access_log stdout out;
                access_log stderr err;
                server {
                    listen 127.0.0.1:{port};
                    root {root};
                    location /file/ { access_log logs/file.log out; }
                }
            }
            """, "error_log logs/error.log;");
        // One kept-alive connection: its requests are logged in the order they were answered.
        using (var client = await KeepAliveClient.ConnectAsync(server.Port))
        {
            for (var i = 0; i < 20; i++)
            {
                await client.GetAsync($"/hello.txt?i={i}");
            }
        }

        await server.GetAsync("/file/x");
        await server.QuitAsync();

        var expected = Enumerable.Range(0, 20).Select(i => $"/hello.txt?i={i} 200").ToArray();
        Assert.Equal(expected.Select(e => "OUT " + e), Lines(server.Process.Stdout));
        Assert.Equal(expected.Select(e => "ERR " + e), Lines(server.Process.Stderr).Where(l => l.StartsWith("ERR ", StringComparison.Ordinal)));
        Assert.Equal(["OUT /file/x 404"], LogServer.ReadLines(server.Log("file.log")));
    }

    [Fact]
    public async Task Host_in_the_path_gives_one_file_per_host()
    {
        await using var server = await LogServer.StartAsync("""
            http {
                log_format short '$host $request_uri';
                access_log logs/$host.log short;
                access_log logs/all.log short;
                server {
                    listen 127.0.0.1:{port};
                    server_name default.test;
                    root {root};
                }
            }
            """, "error_log logs/error.log;");
        using (var client = await KeepAliveClient.ConnectAsync(server.Port))
        {
            await client.GetAsync("/1", "a.test");
            await client.GetAsync("/2", "b.test");
            await client.GetAsync("/3", $"A.Test:{server.Port}");
            await client.GetAsync("/4", "b.test");
        }

        // Rotation reaches files opened because of a variable too (all.log reappearing shows the reopen ran).
        File.Move(server.Log("a.test.log"), server.Log("a.test.log.1"));
        File.Move(server.Log("all.log"), server.Log("all.log.1"));
        await server.SignalAsync("reopen");
        await LogServer.WaitUntilAsync(() => File.Exists(server.Log("all.log")), "reopen");
        await server.GetAsync("/5", "a.test");
        await server.QuitAsync();

        Assert.Equal(["a.test /1", "a.test /3"], LogServer.ReadLines(server.Log("a.test.log.1")));
        Assert.Equal(["a.test /5"], LogServer.ReadLines(server.Log("a.test.log")));
        Assert.Equal(["b.test /2", "b.test /4"], LogServer.ReadLines(server.Log("b.test.log")));
    }

    [Fact]
    public async Task Variable_path_cannot_leave_its_directory()
    {
        await using var server = await LogServer.StartAsync("""
            http {
                log_format short '$request_uri';
                access_log logs/by-arg/$arg_f.log short;
                server {
                    listen 127.0.0.1:{port};
                    root {root};
                }
            }
            """, "error_log logs/error.log;", dir => dir.Mkdir("logs/by-arg"));
        await server.GetAsync("/?f=ok");
        await server.GetAsync("/?f=../../escaped");
        await server.GetAsync("/?f=../x");
        await server.GetAsync("/?f=..");
        await server.QuitAsync();

        Assert.Equal(["/?f=ok"], LogServer.ReadLines(server.Log("by-arg/ok.log")));
        Assert.False(File.Exists(Path.Combine(server.Dir.Path, "escaped.log")));
        Assert.False(File.Exists(server.Log("x.log")));

        // "..." + ".log" is an ordinary name inside the directory.
        Assert.Equal(["...log", "ok.log"], Directory.GetFiles(server.Log("by-arg")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        var errors = File.ReadAllText(server.Log("error.log"));
        Assert.Contains("invalid log file name", errors, StringComparison.Ordinal);
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
}
