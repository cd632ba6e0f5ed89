using System.Globalization;
using System.Text;

namespace Portico.EndToEnd.Tests.Logging;

/// <summary>
/// Every variable the issue lists, through a custom <c>log_format</c> of the real binary, checked
/// against what the client sent and received on the wire
/// (https://nginx.org/en/docs/http/ngx_http_log_module.html#log_format,
/// https://nginx.org/en/docs/http/ngx_http_core_module.html#variables).
/// </summary>
public sealed class LogVariableTests
{
    private static readonly string[] s_names =
    [
        "remote_addr", "remote_port", "remote_user", "time_local", "time_iso8601", "msec", "request",
        "request_method", "request_uri", "uri", "args", "query_string", "status", "body_bytes_sent",
        "bytes_sent", "request_length", "request_time", "http_x_test", "sent_http_content_type",
        "sent_http_etag", "host", "server_name", "server_addr", "server_port", "scheme",
        "server_protocol", "connection", "connection_requests", "pid",
    ];

    private static string Site => $$"""
        http {
            include /etc/nginx/mime.types;
            log_format every '{{string.Join("|", s_names.Select(n => "$" + n))}}';
            access_log logs/vars.log every;
            server {
                listen 127.0.0.1:{port};
                server_name example.test www.example.test;
                root {root};
            }
        }
        """;

    [Fact]
    public async Task Every_listed_variable_has_the_value_the_client_saw()
    {
        await using var server = await LogServer.StartAsync(Site);
        var port = server.Port;
        var before = DateTimeOffset.UtcNow;

        var requests = new[]
        {
            $"GET /hello.txt?a=1&b=%20two HTTP/1.1\r\nHost: Example.TEST:{port}\r\nAuthorization: Basic YWxpY2U6c2VjcmV0\r\nX-Test: hello there\r\nUser-Agent: vars\r\n\r\n",
            $"GET /missing HTTP/1.1\r\nHost: example.test\r\n\r\n",
            $"HEAD /docs/ HTTP/1.1\r\nHost: www.example.test\r\n\r\n",
        };
        var responses = new List<RawResponse>();
        int clientPort;
        using (var client = await KeepAliveClient.ConnectAsync(port))
        {
            clientPort = client.LocalPort;
            foreach (var request in requests)
            {
                responses.Add(await client.SendAsync(request, request.StartsWith("HEAD", StringComparison.Ordinal)));
            }
        }

        int otherPort;
        using (var other = await KeepAliveClient.ConnectAsync(port))
        {
            otherPort = other.LocalPort;
            responses.Add(await other.GetAsync("/", "example.test"));
        }

        var lines = await LogServer.WaitForLinesAsync(server.Log("vars.log"), 4);
        var after = DateTimeOffset.UtcNow;
        Assert.Equal(4, lines.Length);
        // Lines of one connection are in order; across connections a line may come first whose
        // response completed later (nginx with several workers does the same), so group by connection.
        var v = lines.Select(Parse).OrderBy(x => x["remote_port"] == otherPort.ToString(CultureInfo.InvariantCulture) ? 1 : 0).ToArray();

        // Per connection: the same $connection, $connection_requests counting 1, 2, 3.
        Assert.Equal(["1", "2", "3"], v[..3].Select(x => x["connection_requests"]));
        Assert.Single(v[..3].Select(x => x["connection"]).Distinct());
        Assert.NotEqual(v[0]["connection"], v[3]["connection"]);
        Assert.Equal("1", v[3]["connection_requests"]);
        Assert.Equal([clientPort, clientPort, clientPort, otherPort], v.Select(x => int.Parse(x["remote_port"], CultureInfo.InvariantCulture)));

        for (var i = 0; i < v.Length; i++)
        {
            var x = v[i];
            var r = responses[i];
            Assert.Equal("127.0.0.1", x["remote_addr"]);
            Assert.Equal("127.0.0.1", x["server_addr"]);
            Assert.Equal(port.ToString(CultureInfo.InvariantCulture), x["server_port"]);
            Assert.Equal("http", x["scheme"]);
            Assert.Equal("HTTP/1.1", x["server_protocol"]);
            Assert.Equal("example.test", x["server_name"]);
            Assert.Equal(server.Process.Pid.ToString(CultureInfo.InvariantCulture), x["pid"]);
            Assert.Equal(r.Status.ToString(CultureInfo.InvariantCulture), x["status"]);

            // What the client got: the body it read, and that body plus the response head.
            Assert.Equal(r.Body.Length.ToString(CultureInfo.InvariantCulture), x["body_bytes_sent"]);
            Assert.Equal((HeadLength(r) + r.Body.Length).ToString(CultureInfo.InvariantCulture), x["bytes_sent"]);
            Assert.Equal(r.Header("Content-Type") ?? "-", x["sent_http_content_type"]);
            // The default escaping writes the ETag's quotes as \x22.
            Assert.Equal(r.Header("ETag")?.Replace("\"", "\\x22", StringComparison.Ordinal) ?? "-", x["sent_http_etag"]);

            // Time: all three clocks agree with the wall clock around the request.
            Assert.Matches(@"^\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}$", x["time_local"]);
            var local = DateTimeOffset.ParseExact(x["time_local"][..^2] + ":" + x["time_local"][^2..], "dd/MMM/yyyy:HH:mm:ss zzz", CultureInfo.InvariantCulture);
            var iso = DateTimeOffset.ParseExact(x["time_iso8601"], "yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture);
            Assert.Equal(local, iso);
            Assert.Matches(@"^\d{10}\.\d{3}$", x["msec"]);
            var msec = DateTimeOffset.FromUnixTimeMilliseconds((long)(decimal.Parse(x["msec"], CultureInfo.InvariantCulture) * 1000));
            Assert.InRange(msec, before.AddMilliseconds(-5), after.AddMilliseconds(5));
            Assert.InRange(local, before.AddSeconds(-1), after.AddSeconds(1));
            Assert.Matches(@"^\d+\.\d{3}$", x["request_time"]);
            Assert.InRange(decimal.Parse(x["request_time"], CultureInfo.InvariantCulture), 0m, (decimal)(after - before).TotalSeconds + 0.001m);
        }

        var first = v[0];
        Assert.Equal("alice", first["remote_user"]);
        Assert.Equal("GET /hello.txt?a=1&b=%20two HTTP/1.1", first["request"]);
        Assert.Equal("GET", first["request_method"]);
        Assert.Equal("/hello.txt?a=1&b=%20two", first["request_uri"]);
        Assert.Equal("/hello.txt", first["uri"]);
        Assert.Equal("a=1&b=%20two", first["args"]);
        Assert.Equal("a=1&b=%20two", first["query_string"]);
        Assert.Equal("hello there", first["http_x_test"]);
        Assert.Equal("example.test", first["host"]);
        Assert.Equal("12", first["body_bytes_sent"]);
        Assert.Equal(Encoding.Latin1.GetByteCount(requests[0]).ToString(CultureInfo.InvariantCulture), first["request_length"]);

        var miss = v[1];
        Assert.Equal("404", miss["status"]);
        Assert.Equal("-", miss["remote_user"]);
        Assert.Equal("-", miss["args"]);
        Assert.Equal("-", miss["query_string"]);
        Assert.Equal("-", miss["http_x_test"]);
        Assert.Equal("/missing", miss["uri"]);
        Assert.Equal(Encoding.Latin1.GetByteCount(requests[1]).ToString(CultureInfo.InvariantCulture), miss["request_length"]);

        var head = v[2];
        Assert.Equal("HEAD", head["request_method"]);
        Assert.Equal("0", head["body_bytes_sent"]);
        Assert.Equal("www.example.test", head["host"]);
        Assert.Equal("example.test", head["server_name"]);

        // "/" is answered by the index file: $uri is the internally redirected URI, $request_uri the original.
        Assert.Equal("/", v[3]["request_uri"]);
        Assert.Equal("/index.html", v[3]["uri"]);

        await server.QuitAsync();
    }

    [Fact]
    public async Task Response_without_body_is_logged_with_the_head_the_client_got()
    {
        // The log line is written after the response is complete: headers added just before the
        // head goes out (Server, add_header, Date) are in $sent_http_* and $bytes_sent.
        await using var server = await LogServer.StartAsync("""
            http {
                log_format head '$request_method $status $bytes_sent $body_bytes_sent "$sent_http_x_added" "$sent_http_server" "$sent_http_date"';
                access_log logs/head.log head;
                server {
                    listen 127.0.0.1:{port};
                    root {root};
                    add_header X-Added yes;
                    location = /empty { return 204; }
                }
            }
            """);
        using var client = await KeepAliveClient.ConnectAsync(server.Port);
        var head = await client.GetAsync("/hello.txt", method: "HEAD");
        var empty = await client.GetAsync("/empty");
        var lines = await LogServer.WaitForLinesAsync(server.Log("head.log"), 2);
        Assert.Equal("yes", head.Header("X-Added"));
        Assert.Equal($"HEAD 200 {HeadLength(head)} 0 \"yes\" \"{head.Header("Server")}\" \"{head.Header("Date")}\"", lines[0]);
        Assert.Equal($"GET 204 {HeadLength(empty)} 0 \"yes\" \"{empty.Header("Server")}\" \"{empty.Header("Date")}\"", lines[1]);
        await server.QuitAsync();
    }

    private Dictionary<string, string> Parse(string line)
    {
        var parts = line.Split('|');
        Assert.True(parts.Length == s_names.Length, "unexpected field count: " + line);
        return s_names.Zip(parts).ToDictionary(p => p.First, p => p.Second);
    }

    // The response head exactly as it came off the wire: status line, "Name: value" lines, blank line.
    private static int HeadLength(RawResponse r)
        => r.StatusLine.Length + 2 + r.Headers.Sum(h => h.Key.Length + 2 + h.Value.Length + 2) + 2;
}
