using Portico.EndToEnd.Tests.Logging;

namespace Portico.EndToEnd.Tests;

/// <summary>
/// allow/deny (https://nginx.org/en/docs/http/ngx_http_access_module.html) as the usual PHP site configs use them
/// (<c>location ~ /\. { deny all; }</c>, an admin area for local clients): nginx and Portico side by side, one config,
/// the client on 127.0.0.1. The access phase runs after the rewrite phase and before try_files and the content.
/// </summary>
public sealed class AccessTests : IDisposable
{
    private const string Http = """
        http {
            access_log off;
            error_log logs/error.log;
            server {
                listen 127.0.0.1:{port};
                root {root}/www;
                location ~ /\. { deny all; }
                location /private/ { allow 10.0.0.0/8; allow ::1; deny all; }
                location /local/ { allow 127.0.0.0/8; deny all; }
                location /first/ { deny 127.0.0.1; allow all; }
                location /returns/ { deny all; return 200 "the rewrite phase comes first\n"; }
                location /tries/ { deny all; try_files $uri =404; }
                location /nested/ {
                    deny all;
                    location /nested/open/ { allow all; }
                    location /nested/closed/ { }
                }
            }
            server {
                listen 127.0.0.1:{port2};
                root {root}/www;
                deny all;
                location / { }
                location /open/ { allow all; }
            }
        }
        """;

    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task The_first_rule_that_matches_the_client_decides_as_in_nginx()
    {
        foreach (var path in new[] { "a.txt", ".git/config", "private/a.txt", "local/a.txt", "first/a.txt", "tries/a.txt", "nested/a.txt", "nested/open/a.txt", "nested/closed/a.txt", "open/a.txt" })
        {
            var file = Path.Combine(_dir.Path, "www", path);
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            File.WriteAllText(file, path);
        }

        Directory.CreateDirectory(Path.Combine(_dir.Path, "logs"));
        await using var servers = await NginxBesidePortico.StartAsync(_dir, Http);
        var cases = new (string Target, int Status)[]
        {
            ("/a.txt", 200),
            ("/.git/config", 403),
            ("/private/a.txt", 403),
            ("/local/a.txt", 200),
            ("/first/a.txt", 403),
            ("/returns/", 200),
            ("/tries/missing.txt", 403),
            ("/nested/a.txt", 403),
            ("/nested/open/a.txt", 200),
            ("/nested/closed/a.txt", 403),
        };
        foreach (var (server, port, other) in servers.ServersWithPort2)
        {
            foreach (var (target, status) in cases)
            {
                using var client = await KeepAliveClient.ConnectAsync(port);
                var response = await client.GetAsync(target);
                Assert.True(response.Status == status, $"{server} {target}: {response}");
            }

            // A server-level deny holds for every location without rules of its own.
            using (var client = await KeepAliveClient.ConnectAsync(other))
            {
                Assert.Equal(403, (await client.GetAsync("/a.txt")).Status);
                Assert.Equal(200, (await client.GetAsync("/open/a.txt")).Status);
            }
        }

        // Each refusal is an error-log line, in nginx's words.
        foreach (var log in new[] { Path.Combine(_dir.Path, "nginx", "logs", "error.log"), Path.Combine(_dir.Path, "logs", "error.log") })
        {
            var text = await File.ReadAllTextAsync(log);
            Assert.Contains("access forbidden by rule, client: 127.0.0.1, server: , request: \"GET /.git/config HTTP/1.1\", host: \"localhost\"", text, StringComparison.Ordinal);
        }
    }
}
