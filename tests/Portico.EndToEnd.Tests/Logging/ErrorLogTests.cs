using System.Text.RegularExpressions;

namespace Portico.EndToEnd.Tests.Logging;

/// <summary>
/// <c>error_log FILE LEVEL</c> of the real binary: nginx's line format, level filtering, and
/// error logs at server and location level (https://nginx.org/en/docs/ngx_core_module.html#error_log).
/// </summary>
public sealed partial class ErrorLogTests
{
    [Fact]
    public async Task Missing_file_writes_nginx_error_line()
    {
        await using var server = await LogServer.StartAsync("""
            http {
                access_log off;
                server {
                    listen 127.0.0.1:{port};
                    server_name site.test;
                    root {root};
                }
            }
            """, "error_log logs/error.log error;");
        Assert.Equal(404, (await server.GetAsync("/x", $"site.test:{server.Port}")).Status);
        var line = (await LogServer.WaitForLinesAsync(server.Log("error.log"), 1)).Single();
        Assert.Matches(
            $@"^\d{{4}}/\d{{2}}/\d{{2}} \d{{2}}:\d{{2}}:\d{{2}} \[error\] {server.Process.Pid}#\d+: \*\d+ open\(\) ""{Regex.Escape(server.Root)}/x"" failed \(2: No such file or directory\), client: 127\.0\.0\.1, server: site\.test, request: ""GET /x HTTP/1\.1"", host: ""site\.test:{server.Port}""$",
            line);
        var stamp = DateTime.ParseExact(line[..19], "yyyy/MM/dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(stamp, DateTime.Now.AddMinutes(-1), DateTime.Now.AddMinutes(1));
        await server.QuitAsync();
    }

    [RequiresFact(NginxProcess.Binary)]
    public async Task Error_lines_equal_nginx_lines_apart_from_time_and_ids()
    {
        const string Http = """
            http {
                access_log off;
                server {
                    listen 127.0.0.1:{port};
                    server_name site.test www.site.test;
                    root {root};
                    location /list/ { }
                }
                server {
                    listen 127.0.0.1:{port};
                    server_name "";
                    root {root};
                }
            }
            """;
        (string Target, string Host, string Headers)[] requests =
        [
            ("/x", "site.test", ""),
            ("/deep/er/file.html?q=1", "www.site.test", "Referer: http://ref.example/page\r\n"),
            ("/list/", "site.test", ""),
            ("/nameless", "other.test", ""),
        ];

        using var dir = new TempDir();
        dir.Mkdir("www/list");
        var nginxPort = FreePort.Next();
        string[] expected;
        var nginxConf = LogServer.Expand(Http, dir.Path, nginxPort).Replace("access_log off;", "access_log off;\n    error_log logs/error.log;", StringComparison.Ordinal);
        await using (var nginx = await NginxProcess.StartAsync(dir.Path, nginxConf, nginxPort))
        {
            foreach (var (target, host, headers) in requests)
            {
                await RawHttp.GetAsync(nginxPort, target, host, headers);
            }

            expected = await LogServer.WaitForLinesAsync(Path.Combine(dir.Path, "logs", "error.log"), requests.Length);
        }

        // Same root for both, so the paths in the messages agree.
        await using var server = await LogServer.StartAsync(Http.Replace("{root}", Path.Combine(dir.Path, "www"), StringComparison.Ordinal), "error_log logs/error.log;");
        using (var client = await KeepAliveClient.ConnectAsync(server.Port))
        {
            foreach (var (target, host, headers) in requests)
            {
                await client.GetAsync(target, host, headers);
            }
        }

        var actual = await LogServer.WaitForLinesAsync(server.Log("error.log"), requests.Length);
        await server.QuitAsync();
        Assert.Equal(expected.Select(Mask), actual.Select(Mask));
    }

    [Fact]
    public async Task Level_filters_which_error_logs_get_a_line()
    {
        await using var server = await LogServer.StartAsync("""
            http {
                access_log off;
                server {
                    listen 127.0.0.1:{port};
                    root {root};
                }
            }
            """, "error_log logs/crit.log crit;\nerror_log logs/error.log error;\nerror_log logs/warn.log warn;");
        Assert.Equal(404, (await server.GetAsync("/x")).Status);
        Assert.Equal(404, (await server.GetAsync("/y")).Status);
        await server.QuitAsync();

        Assert.Empty(LogServer.ReadLines(server.Log("crit.log")));
        Assert.Equal(2, LogServer.ReadLines(server.Log("error.log")).Count(l => l.Contains("[error]", StringComparison.Ordinal)));
        Assert.Equal(2, LogServer.ReadLines(server.Log("warn.log")).Count(l => l.Contains("[error]", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Server_and_location_error_logs_take_their_requests_lines()
    {
        await using var server = await LogServer.StartAsync("""
            http {
                access_log off;
                server {
                    listen 127.0.0.1:{port};
                    server_name a.test;
                    root {root};
                    error_log logs/a.log;
                    location /quiet/ { error_log logs/quiet.log crit; }
                    location /loud/ { error_log logs/loud.log info; }
                }
                server {
                    listen 127.0.0.1:{port};
                    server_name b.test;
                    root {root};
                }
            }
            """, "error_log logs/main.log;");
        Assert.Equal(404, (await server.GetAsync("/in-a", "a.test")).Status);
        Assert.Equal(404, (await server.GetAsync("/quiet/x", "a.test")).Status);
        Assert.Equal(404, (await server.GetAsync("/loud/x", "a.test")).Status);
        Assert.Equal(404, (await server.GetAsync("/in-b", "b.test")).Status);
        await server.QuitAsync();

        Assert.Equal(["/in-a"], Uris(server.Log("a.log")));
        Assert.Empty(Uris(server.Log("quiet.log")));
        Assert.Equal(["/loud/x"], Uris(server.Log("loud.log")));
        Assert.Equal(["/in-b"], Uris(server.Log("main.log")));
    }

    private static string[] Uris(string file)
        => [.. LogServer.ReadLines(file).Select(l => RequestUri().Match(l)).Where(m => m.Success).Select(m => m.Groups[1].Value)];

    private static string Mask(string line) => Ids().Replace(line, "TIME [$1] PID#TID: *CID ", 1);

    [GeneratedRegex("""request: "GET (\S+) HTTP/1\.1""")]
    private static partial Regex RequestUri();

    [GeneratedRegex(@"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} \[(\w+)\] \d+#\d+: \*\d+ ")]
    private static partial Regex Ids();
}
