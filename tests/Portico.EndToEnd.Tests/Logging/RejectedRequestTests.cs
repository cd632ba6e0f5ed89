using System.Text.Json;
using System.Text.RegularExpressions;

namespace Portico.EndToEnd.Tests.Logging;

/// <summary>
/// Requests the HTTP parser refuses before any location runs (bytes it does not take in the
/// target or a header, headers or a request line too long, a TLS handshake on a plain port)
/// still leave one access-log line each, as nginx's <c>"-" 400</c> lines, plus an info-level
/// error-log line "client sent invalid request".
/// </summary>
public sealed partial class RejectedRequestTests
{
    private const string Site = """
        http {
            log_format json escape=json '{"request":"$request","request_uri":"$request_uri","status":"$status","bytes_sent":"$bytes_sent","body_bytes_sent":"$body_bytes_sent","host":"$host"}';
            access_log logs/access.log combined;
            access_log logs/json.log json;
            server {
                listen 127.0.0.1:{port};
                server_name default.test;
                root {root};
            }
        }
        """;

    // (wire bytes as Latin-1 text, the $request_uri the line carries)
    private static readonly (string Request, string Uri)[] s_rejected =
    [
        ("GET /\u00ff?a=\"b\" HTTP/1.1\r\nHost: x\r\n\r\n", "/\ufffd?a=\"b\""),
        ("GET /caf\u00c3\u00a9 HTTP/1.1\r\nHost: x\r\n\r\n", "/caf\u00e9"),
        ("GET / HTTP/1.1\r\nHost: x\r\nUser-Agent: bad \u00ff\u00fe byte\r\n\r\n", ""),
        ("GET / HTTP/1.1\r\nHost: x\r\nReferer: http://r/\u00c3\u0028\r\n\r\n", ""),
        ("GET / HTTP/1.1\r\nHost: x\r\nX-Custom: \"\\ \u0080\r\n\r\n", ""),
        ("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + new string('b', 40_000) + "\r\n\r\n", ""),
        ("GET /" + new string('u', 9000) + " HTTP/1.1\r\nHost: x\r\n\r\n", ""),
        ("\u0016\u0003\u0001\u0000\u00a5\u0001\u0000\u0000\u00a1\u0003\u0003\r\n\r\n", ""),
    ];

    [Fact]
    public async Task Every_rejected_request_has_its_access_and_error_log_line()
    {
        await using var server = await LogServer.StartAsync(Site, "error_log logs/error.log info;");
        var statuses = new List<int>();
        var bytes = new List<int>();
        foreach (var (request, _) in s_rejected)
        {
            var response = await RawHttp.SendAsync(server.Port, request);
            Assert.InRange(response.Status, 400, 499);
            statuses.Add(response.Status);
            bytes.Add(response.StatusLine.Length + 2 + response.Headers.Sum(h => h.Key.Length + 2 + h.Value.Length + 2) + 2 + response.Body.Length);

            // One connection per request: wait for its line so the file order is the send order.
            await LogServer.WaitForLinesAsync(server.Log("json.log"), statuses.Count);
        }

        Assert.Contains(414, statuses);
        Assert.Contains(431, statuses);
        await server.QuitAsync();

        var combined = LogServer.ReadLines(server.Log("access.log"));
        Assert.Equal(s_rejected.Length, combined.Length);
        for (var i = 0; i < combined.Length; i++)
        {
            Assert.Matches($@"^127\.0\.0\.1 - - \[[^\]]+\] ""-"" {statuses[i]} 0 ""-"" ""-""$", combined[i]);
        }

        var json = LogServer.ReadLines(server.Log("json.log"));
        Assert.Equal(s_rejected.Length, json.Length);
        for (var i = 0; i < json.Length; i++)
        {
            using var doc = JsonDocument.Parse(json[i]);
            var root = doc.RootElement;
            Assert.Equal("", root.GetProperty("request").GetString());
            Assert.Equal(s_rejected[i].Uri, root.GetProperty("request_uri").GetString());
            Assert.Equal(statuses[i].ToString(), root.GetProperty("status").GetString());
            Assert.Equal(bytes[i].ToString(), root.GetProperty("bytes_sent").GetString());
            Assert.Equal("0", root.GetProperty("body_bytes_sent").GetString());
            Assert.Equal("default.test", root.GetProperty("host").GetString());
        }

        var errors = LogServer.ReadLines(server.Log("error.log")).Where(l => l.Contains("client sent invalid request", StringComparison.Ordinal)).ToList();
        Assert.Equal(s_rejected.Length, errors.Count);
        Assert.All(errors, e => Assert.Matches(ErrorLine(), e));
    }

    [GeneratedRegex(@"^\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2} \[info\] \d+#\d+: \*\d+ client sent invalid request: .+, client: 127\.0\.0\.1, server: default\.test$")]
    private static partial Regex ErrorLine();
}
