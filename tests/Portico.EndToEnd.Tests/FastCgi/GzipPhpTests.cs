using System.IO.Compression;
using System.Security.Cryptography;

namespace Portico.EndToEnd.Tests.FastCgi;

/// <summary>A PHP site with <c>gzip on</c>, as WordPress's and Laravel's nginx configs have it, under nginx and Portico.</summary>
public sealed class GzipPhpSite : NginxBesidePhpSite
{
    protected override string Config => """
        http {
            include /etc/nginx/mime.types;
            access_log off;
            gzip on;
            gzip_vary on;
            gzip_proxied any;
            gzip_comp_level 5;
            gzip_types text/plain application/json;
            upstream php { server {tcp}; keepalive 2; }
            server {
                listen 127.0.0.1:{port};
                root {root}/www;
                location ~ ^/forced/(.+\.php)$ {
                    fastcgi_force_ranges on;
                    include fastcgi_params;
                    fastcgi_param SCRIPT_FILENAME $document_root/$1;
                    fastcgi_pass php;
                }
                location ~ \.php$ {
                    include fastcgi_params;
                    fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
                    fastcgi_keep_conn on;
                    fastcgi_pass php;
                }
            }
        }
        """;
}

/// <summary>
/// The gzip filter on FastCGI output: which responses are compressed (by status and type, never a backend's own
/// Content-Encoding), that a streamed 3 MB page decompresses to the bytes php wrote, and that the backend connection
/// stays usable after a compressed response.
/// </summary>
public sealed class GzipPhpTests(GzipPhpSite site) : IClassFixture<GzipPhpSite>
{
    [PhpFpmTheory(NginxProcess.Binary)]
    [InlineData("/hello.php")]
    [InlineData("/big.php")]
    [InlineData("/status.php")]
    [InlineData("/redirect.php")]
    [InlineData("/notfound.php")]
    [InlineData("/error500.php")]
    [InlineData("/ranges.php")]
    [InlineData("/stream.php")]
    [InlineData("/missing.php")]
    public async Task Compressed_where_nginx_compresses(string target)
    {
        string? nginxBody = null;
        string? nginxView = null;
        foreach (var (server, port) in new[] { ("nginx", site.NginxPort), ("portico", site.Port) })
        {
            var response = await RawHttp.GetAsync(port, target, extraHeaders: "Accept-Encoding: gzip, deflate\r\n");
            var body = response.Header("Content-Encoding") == "gzip" ? Gunzip(response.Body) : response.Body;

            // An empty body is framed by Content-Length: 0 under Portico, an empty chunked body under nginx (known,
            // SideBySidePhpTests); its length is not compared.
            var view = $"{response.Status} enc={response.Header("Content-Encoding") ?? "-"} vary={string.Join(',', response.HeaderValues("Vary"))} length={(body.Length == 0 ? "(empty)" : response.Header("Content-Length") ?? "-")}";
            var text = target == "/missing.php" ? "(php-fpm's page)" : Convert.ToHexString(SHA256.HashData(body));
            if (server == "nginx")
            {
                (nginxView, nginxBody) = (view, text);
            }
            else
            {
                Assert.True(nginxView == view, $"{target}: nginx {nginxView}, portico {view}");
                Assert.True(nginxBody == text, $"{target}: the decompressed bodies differ");
            }

            if (target == "/big.php")
            {
                Assert.Equal("gzip", response.Header("Content-Encoding"));
                Assert.Equal(response.Header("X-Sha256"), Convert.ToHexString(SHA256.HashData(body)).ToLowerInvariant());
            }
        }
    }

    /// <summary>fastcgi_force_ranges: a Range on a response gzip compresses gets the whole 200, compressed, since
    /// nginx's gzip filter runs before its range filter; without gzip, the range.</summary>
    [PhpFpmTheory(NginxProcess.Binary)]
    [InlineData("Accept-Encoding: gzip\r\nRange: bytes=0-9\r\n", "200 enc=gzip vary=Accept-Encoding range=-")]
    [InlineData("Range: bytes=0-9\r\n", "206 enc=- vary=Accept-Encoding range=bytes 0-9/26")]
    [InlineData("Accept-Encoding: gzip\r\nRange: bytes=50-60\r\n", "200 enc=gzip vary=Accept-Encoding range=-")]
    public async Task Forced_ranges_give_way_to_gzip_as_in_nginx(string headers, string expected)
    {
        foreach (var (server, port) in new[] { ("nginx", site.NginxPort), ("portico", site.Port) })
        {
            var response = await RawHttp.GetAsync(port, "/forced/ranges.php", extraHeaders: headers);
            var view = $"{response.Status} enc={response.Header("Content-Encoding") ?? "-"} vary={string.Join(',', response.HeaderValues("Vary"))} range={response.Header("Content-Range") ?? "-"}";
            Assert.True(expected == view, $"{server}: {view}");
        }
    }

    [PhpFpmFact(NginxProcess.Binary)]
    public async Task A_kept_connection_serves_compressed_and_plain_in_turn()
    {
        using var client = await Logging.KeepAliveClient.ConnectAsync(site.Port);
        for (var i = 0; i < 3; i++)
        {
            var compressed = await client.GetAsync("/big.php", headers: "Accept-Encoding: gzip\r\n");
            Assert.Equal("gzip", compressed.Header("Content-Encoding"));
            Assert.Equal(compressed.Header("X-Sha256"), Convert.ToHexString(SHA256.HashData(Gunzip(compressed.Body))).ToLowerInvariant());
            var plain = await client.GetAsync("/hello.php");
            Assert.Null(plain.Header("Content-Encoding"));
            Assert.Equal("Hello from PHP\n", plain.BodyText);
        }
    }

    private static byte[] Gunzip(byte[] body)
    {
        using var input = new GZipStream(new MemoryStream(body), CompressionMode.Decompress);
        using var output = new MemoryStream();
        input.CopyTo(output);
        return output.ToArray();
    }
}
