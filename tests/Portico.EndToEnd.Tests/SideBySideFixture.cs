namespace Portico.EndToEnd.Tests;

/// <summary>
/// One site served by real nginx and by the real portico binary from the same configuration
/// text (only the port and pid path differ), for side-by-side comparison.
/// </summary>
public sealed class SideBySideFixture : IAsyncLifetime
{
    public const string HttpConfig = """
        http {
            include /etc/nginx/mime.types;
            default_type application/octet-stream;
            access_log off;
            server {
                listen 127.0.0.1:{port};
                server_name localhost;
                root {root}/www;
                index index.html;
                error_page 404 /errors/404.html;
                location /errors/ { internal; }
                location /listing/ { autoindex on; }
                location /listing-approx/ { alias {root}/www/listing/; autoindex on; autoindex_exact_size off; }
                location /json/ { alias {root}/www/listing/; autoindex on; autoindex_format json; }
                location /xml/ { alias {root}/www/listing/; autoindex on; autoindex_format xml; }
                location /img/ { alias {root}/images/; }
                location ~ ^/photos/(.+\.png)$ { alias {root}/images/$1; }
                location /spa/ { try_files $uri $uri/ /spa/index.html; }
                location = /moved { return 301 /new; }
                location = /text { return 200 "uri=$uri args=$args"; }
                location /headers/ { add_header X-Test "on"; add_header X-Always "yes" always; expires max; }
                location /plain/ { error_page 404 =200 /errors/ok.html; }
            }
            server {
                listen 127.0.0.1:{port};
                server_name loc.test *.wild.test www.suffix.* ~^(?<sub>[a-z]+)\.re\.test$;
                root {root}/www;
                location = / { return 200 "exact /"; }
                location / { return 200 "prefix / $uri"; }
                location /documents/ { return 200 "documents"; }
                location ^~ /images/ { return 200 "images no-regex"; }
                location ~* \.(gif|jpg|jpeg)$ { return 200 "regex image $1"; }
                location /nested/ {
                    location ~ \.txt$ { return 200 "nested regex"; }
                    return 200 "nested prefix";
                }
                location = /host { return 200 "host=$host server_name=$server_name sub=$sub"; }
                location = /redirect { return 301 /target?x=$arg_x; }
                location = /found { return 302 http://example.com/; }
                location = /code { return 403; }
                location /tf/ { try_files $uri @named; }
                location @named { return 200 "named $uri"; }
            }
        }
        """;

    private TempDir? _dir;
    private NginxProcess? _nginx;
    private PorticoProcess? _portico;

    public int NginxPort { get; private set; }

    public int PorticoPort { get; private set; }

    public bool Available { get; private set; }

    public async Task InitializeAsync()
    {
        if (!File.Exists(NginxProcess.Binary))
        {
            return;
        }

        _dir = new TempDir();
        var root = _dir.Path;
        _dir.Write("www/index.html", "<h1>home</h1>\n");
        _dir.Write("www/hello.txt", "hello world\n");
        _dir.Write("www/data.bin", Enumerable.Range(0, 5000).Select(i => (byte)(i % 251)).ToArray());
        _dir.Write("www/empty.txt", "");
        _dir.Write("www/style.css", "body { color: red }\n");
        _dir.Write("www/sub/index.html", "sub\n");
        _dir.Mkdir("www/noindex");
        _dir.Write("www/listing/a.txt", "a");
        _dir.Write("www/listing/b & <c>.txt", "bc");
        _dir.Write("www/listing/big.bin", new byte[150_000]);
        _dir.Write("www/listing/" + new string('n', 60) + ".txt", "long");
        _dir.Write("www/listing/.hidden", "hidden");
        _dir.Mkdir("www/listing/zdir");
        _dir.Write("www/listing/ümlaut é.txt", "u");
        _dir.Write("www/errors/404.html", "custom 404\n");
        _dir.Write("www/errors/ok.html", "ok page\n");
        _dir.Write("www/spa/index.html", "spa\n");
        _dir.Write("www/spa/app.js", "js\n");
        _dir.Write("www/headers/h.txt", "h\n");
        _dir.Write("images/logo.png", "PNG\n");

        // Same mtimes for both servers (they read the same files).
        var stamp = new DateTime(2026, 11, 1, 12, 0, 0, DateTimeKind.Utc);
        foreach (var file in Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories))
        {
            File.SetLastWriteTimeUtc(file, stamp);
        }

        NginxPort = FreePort.Next();
        var nginxPrefix = Path.Combine(root, "nginx");
        _nginx = await NginxProcess.StartAsync(nginxPrefix, Expand(NginxPort), NginxPort);

        PorticoPort = FreePort.Next();
        _dir.Mkdir("portico/logs");
        var conf = _dir.Write("portico/portico.conf", "daemon off;\nmaster_process off;\nworker_processes 1;\nevents { worker_connections 128; }\n" + Expand(PorticoPort));
        _portico = PorticoProcess.Start(root, "-p", Path.Combine(root, "portico") + "/", "-c", conf);
        await _portico.WaitForPortAsync(PorticoPort);
        Available = true;
    }

    private string Expand(int port) =>
        HttpConfig.Replace("{port}", port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
                  .Replace("{root}", _dir!.Path, StringComparison.Ordinal);

    public async Task DisposeAsync()
    {
        if (_portico is not null)
        {
            await _portico.DisposeAsync();
        }

        if (_nginx is not null)
        {
            await _nginx.DisposeAsync();
        }

        _dir?.Dispose();
    }
}
