using System.Text;
using System.Text.Json;

namespace Portico.EndToEnd.Tests.Logging;

/// <summary>
/// <c>log_format ... escape=json</c> with hostile input: every line is one valid JSON document
/// and the values come back as sent
/// (https://nginx.org/en/docs/http/ngx_http_log_module.html#log_format, "escape=json").
/// </summary>
public sealed class JsonLogTests
{
    private const string Format =
        """{"request_uri":"$request_uri","request":"$request","args":"$args","ua":"$http_user_agent","referer":"$http_referer","custom":"$http_x_custom","status":"$status"}""";

    private static readonly string s_site = $$"""
        http {
            log_format json escape=json '{{Format}}';
            access_log logs/json.log json;
            server {
                listen 127.0.0.1:{port};
                root {root};
            }
        }
        """;

    // (target, user agent, referer, custom header) as bytes on the wire (one char = one byte).
    private static readonly (string Target, string Agent, string Referer, string Custom)[] s_hostile =
    [
        ("/q\"u\\o?x=\"y\"&z=\\w", "ua \"quoted\" \\ back\\slash", "http://evil/\"</script>", "a\"b"),
        ("/ctl", "tab\there \u0001 \u001f del\u007f end", "\\n is not a newline", "\u0002\u0003\u0008\u000c"),
        ("/utf8/%C3%A9?caf%C3%A9=1", Utf8("caf\u00e9 \u65e5\u672c \ud83d\ude00"), Utf8("https://b\u00fccher.example/\u00e9"), Utf8("\u00e9\"\\")),
        ("/long?" + new string('q', 2000), new string('L', 3000) + "\"" + new string('\\', 1000), new string('R', 1500), new string('C', 1500)),
        ("/json?{\"a\":[1,2]}", "{\"ua\":null}", "[]", "}"),
    ];

    [Fact]
    public async Task Hostile_input_gives_one_valid_json_document_per_line_with_the_values_sent()
    {
        await using var server = await LogServer.StartAsync(s_site);
        using (var client = await KeepAliveClient.ConnectAsync(server.Port))
        {
            foreach (var (target, agent, referer, custom) in s_hostile)
            {
                var response = await client.GetAsync(target, headers: $"User-Agent: {agent}\r\nReferer: {referer}\r\nX-Custom: {custom}\r\n");
                Assert.True(response.Status == 404, target + ": " + response.StatusLine);
            }
        }

        await server.QuitAsync();
        var lines = LogServer.ReadLines(server.Log("json.log"));
        Assert.Equal(s_hostile.Length, lines.Length);
        for (var i = 0; i < lines.Length; i++)
        {
            var (target, agent, referer, custom) = s_hostile[i];
            using var json = JsonDocument.Parse(lines[i]);
            var root = json.RootElement;
            Assert.Equal(target, root.GetProperty("request_uri").GetString());
            Assert.Equal($"GET {target} HTTP/1.1", root.GetProperty("request").GetString());
            var query = target.IndexOf('?', StringComparison.Ordinal);
            Assert.Equal(query < 0 ? "" : target[(query + 1)..], root.GetProperty("args").GetString());
            Assert.Equal(FromWire(agent), root.GetProperty("ua").GetString());
            Assert.Equal(FromWire(referer), root.GetProperty("referer").GetString());
            Assert.Equal(FromWire(custom), root.GetProperty("custom").GetString());
            Assert.Equal("404", root.GetProperty("status").GetString());
        }
    }

    [RequiresFact(NginxProcess.Binary)]
    public async Task Json_lines_equal_nginx_lines_for_the_same_requests()
    {
        using var dir = new TempDir();
        dir.Mkdir("www");
        var nginxPort = FreePort.Next();
        string[] expected;
        await using (var nginx = await NginxProcess.StartAsync(dir.Path, LogServer.Expand(s_site, dir.Path, nginxPort), nginxPort))
        {
            foreach (var (target, agent, referer, custom) in s_hostile)
            {
                await RawHttp.GetAsync(nginxPort, target, extraHeaders: $"User-Agent: {agent}\r\nReferer: {referer}\r\nX-Custom: {custom}\r\n");
            }

            expected = await LogServer.WaitForLinesAsync(Path.Combine(dir.Path, "logs", "json.log"), s_hostile.Length);
        }

        await using var server = await LogServer.StartAsync(s_site);
        using (var client = await KeepAliveClient.ConnectAsync(server.Port))
        {
            foreach (var (target, agent, referer, custom) in s_hostile)
            {
                await client.GetAsync(target, headers: $"User-Agent: {agent}\r\nReferer: {referer}\r\nX-Custom: {custom}\r\n");
            }
        }

        await server.QuitAsync();
        Assert.Equal(expected, LogServer.ReadLines(server.Log("json.log")));
    }

    [Fact]
    public async Task Empty_and_absent_values_are_empty_strings()
    {
        // escape=json prints nothing for a "not found" variable (no "-"), so the field stays valid JSON.
        await using var server = await LogServer.StartAsync(s_site);
        await server.GetAsync("/plain", headers: "Referer: \r\n");
        var line = (await LogServer.WaitForLinesAsync(server.Log("json.log"), 1))[0];
        using var json = JsonDocument.Parse(line);
        Assert.Equal("", json.RootElement.GetProperty("args").GetString());
        Assert.Equal("", json.RootElement.GetProperty("ua").GetString());
        Assert.Equal("", json.RootElement.GetProperty("referer").GetString());
        Assert.Equal("", json.RootElement.GetProperty("custom").GetString());
        await server.QuitAsync();
    }

    /// <summary>Text as wire bytes: each UTF-8 byte of <paramref name="text"/> as one Latin-1 char.</summary>
    private static string Utf8(string text) => Encoding.Latin1.GetString(Encoding.UTF8.GetBytes(text));

    /// <summary>What a value sent as <paramref name="wire"/> bytes reads as once decoded as UTF-8.</summary>
    private static string FromWire(string wire) => Encoding.UTF8.GetString(Encoding.Latin1.GetBytes(wire));
}
