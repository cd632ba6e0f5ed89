namespace Portico.EndToEnd.Tests;

/// <summary>
/// client_body_temp_path (https://nginx.org/en/docs/http/ngx_http_core_module.html#client_body_temp_path): a request
/// body larger than client_body_buffer_size is written to a file in that directory ($request_body_file names it).
/// The body is read before a backend is contacted (fastcgi_request_buffering on), so the backend is a closed port and
/// the request a 502; the access log tells where the body went. nginx and Portico side by side, same config.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public sealed class ClientBodyTempPathTests : IDisposable
{
    private const string Http = """
        http {
            log_format file '$request_uri $status $request_body_file';
            access_log logs/access.log file;
            client_body_buffer_size 1k;
            client_body_temp_path {temp};
            server {
                listen 127.0.0.1:{port};
                root {root}/www;
                location / {
                    fastcgi_pass 127.0.0.1:{dead};
                }
            }
        }
        """;

    private readonly TempDir _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task A_body_larger_than_the_buffer_goes_to_a_private_file_in_client_body_temp_path()
    {
        Directory.CreateDirectory(Path.Combine(_dir.Path, "www"));
        var dead = FreePort.Next();
        var nginxPort = FreePort.Next();
        var porticoPort = FreePort.Next();
        var nginxPrefix = Path.Combine(_dir.Path, "nginx");
        var porticoPrefix = Path.Combine(_dir.Path, "portico");
        Directory.CreateDirectory(Path.Combine(porticoPrefix, "logs"));
        var nginxTemp = Path.Combine(_dir.Path, "nginx-body");
        var porticoTemp = Path.Combine(_dir.Path, "portico-body");
        var conf = _dir.Write("portico/portico.conf", Expand(porticoPort, dead, porticoTemp));
        await using var nginx = await NginxProcess.StartAsync(nginxPrefix, Expand(nginxPort, dead, nginxTemp), nginxPort);
        await using var portico = PorticoProcess.Start(porticoPrefix, "-p", porticoPrefix + "/", "-c", conf);
        await portico.WaitForPortAsync(porticoPort);

        foreach (var (server, port, prefix, temp) in new[] { ("nginx", nginxPort, nginxPrefix, nginxTemp), ("portico", porticoPort, porticoPrefix, porticoTemp) })
        {
            using var http = new HttpClient();
            using var body = new ByteArrayContent(new byte[100_000]);
            using var response = await http.PostAsync(new Uri($"http://127.0.0.1:{port}/upload.php"), body);
            Assert.Equal(502, (int)response.StatusCode);

            var line = await LastLogLineAsync(prefix);
            Assert.True(line.StartsWith("/upload.php 502 " + temp + "/", StringComparison.Ordinal), $"{server}: {line}");

            // A body is the client's own data: the directory is the server's alone, also on a shared disk.
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(temp));
            // And the file goes with the request (a moment after its log line).
            for (var i = 0; i < 50 && Directory.GetFiles(temp).Length > 0; i++)
            {
                await Task.Delay(100);
            }

            Assert.Empty(Directory.GetFiles(temp));
        }
    }

    private string Expand(int port, int dead, string temp) =>
        Http.Replace("{port}", port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{dead}", dead.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{temp}", temp, StringComparison.Ordinal)
            .Replace("{root}", _dir.Path, StringComparison.Ordinal);

    /// <summary>The access log's one line (each server answers one request here).</summary>
    private static async Task<string> LastLogLineAsync(string prefix) =>
        (await Logging.LogServer.WaitForLinesAsync(Path.Combine(prefix, "logs", "access.log"), 1))[^1];
}
