using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Portico.EndToEnd.Tests.Logging;

/// <summary>
/// The access log as the tools that read it see it: GoAccess parses every <c>combined</c> line,
/// and a line is byte for byte the one nginx 1.22 writes for the same request
/// (https://nginx.org/en/docs/http/ngx_http_log_module.html#log_format, "combined").
/// </summary>
public sealed partial class AnalyserTests
{
    private const string GoAccess = "/usr/bin/goaccess";

    private const string Site = """
        http {
            include /etc/nginx/mime.types;
            access_log logs/access.log combined;
            server {
                listen 127.0.0.1:{port};
                server_name localhost;
                root {root};
                location = /moved { return 301 /hello.txt; }
            }
        }
        """;

    // One visitor's session: (method, target, headers, expected status).
    private static readonly (string Method, string Target, string Headers, int Status)[] s_session =
    [
        ("GET", "/", "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n", 200),
        ("GET", "/style.css", "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\nReferer: http://localhost/\r\n", 200),
        ("GET", "/hello.txt?lang=en&utm_source=news", "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\nReferer: https://search.example/?q=portico\r\n", 200),
        ("GET", "/missing.html", "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\nReferer: http://localhost/\r\n", 404),
        ("GET", "/favicon.ico", "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n", 404),
        ("GET", "/moved", "User-Agent: curl/7.88.1\r\n", 301),
        ("GET", "/docs", "User-Agent: curl/7.88.1\r\n", 301),
        ("GET", "/docs/", "User-Agent: curl/7.88.1\r\n", 200),
        ("HEAD", "/", "User-Agent: curl/7.88.1\r\n", 200),
        ("GET", "/search?q=a+b&page=2", "User-Agent: Wget/1.21.3\r\n", 404),
        ("GET", "/hello.txt", "User-Agent: \"quoted\" agent\r\nReferer: http://localhost/docs/\r\n", 200),
        ("GET", "/hello.txt", "", 200),
    ];

    [RequiresFact(GoAccess)]
    public async Task GoAccess_accepts_every_combined_line_of_a_browsing_session()
    {
        await using var server = await LogServer.StartAsync(Site);
        using (var client = await KeepAliveClient.ConnectAsync(server.Port))
        {
            foreach (var (method, target, headers, status) in s_session)
            {
                var response = await client.GetAsync(target, "localhost", headers, method);
                Assert.True(status == response.Status, $"{method} {target}: {response.StatusLine}");
            }
        }

        // A request the HTTP parser refuses is in the log too (nginx: "-" 400).
        Assert.Equal(400, (await RawHttp.SendAsync(server.Port, "GET /\u00ff HTTP/1.1\r\nHost: localhost\r\n\r\n")).Status);
        var total = s_session.Length + 1;

        await server.QuitAsync();
        var log = server.Log("access.log");
        Assert.Equal(total, LogServer.ReadLines(log).Length);

        var report = Path.Combine(server.Dir.Path, "report.json");
        var info = new ProcessStartInfo(GoAccess)
        {
            ArgumentList = { log, "--log-format=COMBINED", "--no-global-config", "-o", report },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        using var goaccess = Process.Start(info)!;
        goaccess.StandardInput.Close();
        var stderr = goaccess.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await goaccess.WaitForExitAsync(cts.Token);
        Assert.True(goaccess.ExitCode == 0, "goaccess failed: " + await stderr);

        using var json = JsonDocument.Parse(File.ReadAllBytes(report));
        var general = json.RootElement.GetProperty("general");
        Assert.Equal(total, general.GetProperty("total_requests").GetInt32());
        Assert.Equal(total, general.GetProperty("valid_requests").GetInt32());
        Assert.Equal(0, general.GetProperty("failed_requests").GetInt32());

        var byClass = json.RootElement.GetProperty("status_codes").GetProperty("data").EnumerateArray()
            .ToDictionary(e => e.GetProperty("data").GetString()![..1], e => e.GetProperty("hits").GetProperty("count").GetInt32());
        Assert.Equal(s_session.Count(s => s.Status == 404) + 1, byClass["4"]);
        Assert.Equal(s_session.Count(s => s.Status == 301), byClass["3"]);
        Assert.Equal(s_session.Count(s => s.Status == 200), byClass["2"]);
        var notFound = json.RootElement.GetProperty("not_found").GetProperty("data").EnumerateArray()
            .Select(e => e.GetProperty("data").GetString()).ToHashSet();
        Assert.Contains("/missing.html", notFound);
        Assert.Contains("/favicon.ico", notFound);
    }

    [RequiresFact(NginxProcess.Binary)]
    public async Task Combined_line_equals_nginx_line_for_the_same_request()
    {
        // Requests whose every combined field nginx and Portico must agree on; the time differs,
        // and so does the size of a generated error page (its footer names the server).
        (string Target, string Headers, bool SameBody)[] requests =
        [
            ("/hello.txt?x=1&y=%22q%22", "User-Agent: Mozilla/5.0 \"quoted\" \\ back\r\nReferer: http://ref.example/a?b=c\r\n", true),
            ("/hello.txt", "Authorization: Basic YWxpY2U6c2VjcmV0\r\nUser-Agent: caf\u00c3\u00a9 agent\tTab\r\n", true),
            ("/missing", "", false),
            ("/a\"b\\c", "Referer: \r\n", false),
        ];

        using var dir = new TempDir();
        dir.Write("www/hello.txt", "hello world\n");
        var nginxPort = FreePort.Next();
        var http = Site.Replace("{root}", Path.Combine(dir.Path, "www"), StringComparison.Ordinal);
        string[] nginxLines;
        await using (var nginx = await NginxProcess.StartAsync(dir.Path, http.Replace("{port}", nginxPort.ToString(), StringComparison.Ordinal), nginxPort))
        {
            foreach (var (target, headers, _) in requests)
            {
                await RawHttp.GetAsync(nginxPort, target, "localhost", headers);
            }

            nginxLines = await LogServer.WaitForLinesAsync(Path.Combine(dir.Path, "logs", "access.log"), requests.Length);
        }

        await using var server = await LogServer.StartAsync(Site);
        using (var client = await KeepAliveClient.ConnectAsync(server.Port))
        {
            foreach (var (target, headers, _) in requests)
            {
                await client.GetAsync(target, "localhost", headers);
            }
        }

        await server.QuitAsync();
        var porticoLines = LogServer.ReadLines(server.Log("access.log"));
        Assert.Equal(requests.Length, porticoLines.Length);
        for (var i = 0; i < requests.Length; i++)
        {
            var expected = Mask(nginxLines[i], requests[i].SameBody);
            var actual = Mask(porticoLines[i], requests[i].SameBody);
            Assert.Equal(expected, actual);
        }
    }

    private static string Mask(string line, bool sameBody)
    {
        Assert.Matches(TimeLocal(), line);
        var masked = TimeLocal().Replace(line, "[TIME]", 1);
        return sameBody ? masked : BodyBytes().Replace(masked, "$1 BYTES ", 1);
    }

    [GeneratedRegex(@"\[\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\]")]
    private static partial Regex TimeLocal();

    [GeneratedRegex("(\" \\d{3}) \\d+ ")]
    private static partial Regex BodyBytes();
}
