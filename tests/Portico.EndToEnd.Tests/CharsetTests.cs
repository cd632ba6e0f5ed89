using Portico.EndToEnd.Tests.Logging;

namespace Portico.EndToEnd.Tests;

/// <summary>
/// <c>charset</c> and <c>charset_types</c> (https://nginx.org/en/docs/http/ngx_http_charset_module.html), as Laravel's
/// and many site configs set <c>charset utf-8;</c>: the same Content-Type from nginx and Portico for static files,
/// error pages, <c>return</c> and redirects. nginx and Portico side by side, one config.
/// </summary>
public sealed class CharsetTests : IDisposable
{
    private const string Http = """
        http {
            include /etc/nginx/mime.types;
            default_type application/octet-stream;
            access_log off;
            charset utf-8;
            server {
                listen 127.0.0.1:{port};
                root {root}/www;
                location /off/ { charset off; }
                location /koi/ { charset koi8-r; }
                location /css/ { charset_types text/css; }
                location /any/ { charset_types *; }
                location /list/ { autoindex on; }
                location = /text { default_type text/plain; return 200 "text\n"; }
                location = /params { default_type "text/plain; format=flowed"; return 200 "text\n"; }
                location = /params-any { charset_types *; default_type "text/plain; format=flowed"; return 200 "text\n"; }
                location = /moved { return 301 /a.html; }
                location = /found { return 302 /a.html; }
                location = /other { return 303 /a.html; }
            }
        }
        """;

    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task Content_types_name_the_charset_where_nginx_names_it()
    {
        foreach (var path in new[] { "a.html", "a.txt", "a.css", "a.js", "a.xml", "a.png", "off/a.html", "koi/a.html", "css/a.css", "css/a.html", "any/a.png", "list/x.txt" })
        {
            var file = Path.Combine(_dir.Path, "www", path);
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            File.WriteAllText(file, path);
        }

        await using var servers = await NginxBesidePortico.StartAsync(_dir, Http);
        var targets = new[]
        {
            "/a.html", "/a.txt", "/a.css", "/a.js", "/a.xml", "/a.png", "/missing.html", "/off/a.html", "/koi/a.html",
            "/css/a.css", "/css/a.html", "/any/a.png", "/list/", "/text", "/params", "/params-any", "/moved", "/found", "/other",
        };
        var seen = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var (server, port) in servers.Servers)
        {
            foreach (var target in targets)
            {
                using var client = await KeepAliveClient.ConnectAsync(port);
                var response = await client.GetAsync(target);
                var type = response.Header("Content-Type");
                if (server == "nginx")
                {
                    seen[target] = type;
                }
                else
                {
                    Assert.True(seen[target] == type, $"{target}: nginx \"{seen[target]}\", portico \"{type}\"");
                }
            }
        }

        // The cases that matter, as nginx gave them.
        Assert.Equal("text/html; charset=utf-8", seen["/a.html"]);
        Assert.Equal("text/css", seen["/a.css"]);
        Assert.Equal("text/html", seen["/off/a.html"]);
        Assert.Equal("text/html; charset=koi8-r", seen["/koi/a.html"]);
        Assert.Equal("text/html", seen["/moved"]);
        Assert.Equal("text/plain; format=flowed", seen["/params"]);
    }
}
