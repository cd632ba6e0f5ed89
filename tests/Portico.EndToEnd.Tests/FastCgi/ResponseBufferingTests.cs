using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Portico.EndToEnd.Tests.FastCgi;

/// <summary>One php-fpm worker behind nginx and portico, each with a <c>fastcgi_temp_path</c> of its own.</summary>
public sealed class OneWorkerPhpSite : NginxBesidePhpSite
{
    // One worker: a request is answered only once the previous one has let the worker go.
    protected override int Workers => 1;

    protected override string Config => """
        http {
            access_log off;
            fastcgi_temp_path {root}/temp-{port} 1 2;
            server {
                listen 127.0.0.1:{port};
                root {root}/www;
                location ~ \.php$ {
                    include fastcgi_params;
                    fastcgi_param SCRIPT_FILENAME $document_root$fastcgi_script_name;
                    fastcgi_pass {tcp};
                }
                location = /nofile {
                    fastcgi_max_temp_file_size 0;
                    include fastcgi_params;
                    fastcgi_param SCRIPT_FILENAME $document_root/huge.php;
                    fastcgi_pass {tcp};
                }
                location = /smallfile {
                    fastcgi_max_temp_file_size 1m;
                    include fastcgi_params;
                    fastcgi_param SCRIPT_FILENAME $document_root/huge.php;
                    fastcgi_pass {tcp};
                }
                location = /unbuffered {
                    fastcgi_buffering off;
                    include fastcgi_params;
                    fastcgi_param SCRIPT_FILENAME $document_root/huge.php;
                    fastcgi_pass {tcp};
                }
            }
        }
        """;
}

/// <summary>
/// fastcgi_buffering on (the default) reads the backend's response "as soon as possible", to memory and then to a temp
/// file (https://nginx.org/en/docs/http/ngx_http_fastcgi_module.html#fastcgi_buffering): a client slower than the
/// backend does not hold the php-fpm worker. fastcgi_max_temp_file_size 0 and fastcgi_buffering off give that up.
/// Each case runs against nginx and portico in turn, on one php-fpm worker.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
[Collection(nameof(ResponseBufferingTests))]
public sealed class ResponseBufferingTests(OneWorkerPhpSite site) : IClassFixture<OneWorkerPhpSite>
{
    // Far more than the sockets between php-fpm, the server and a client that reads nothing can hold (a receive buffer
    // grows up to net.ipv4.tcp_rmem's maximum, 6 MiB by default, 32 MiB on some machines).
    private const int Mebibytes = 64;

    /// <summary>HTTP/1.0 (the end is the close) and HTTP/1.1 (chunked; the last chunk follows the file's content).</summary>
    [PhpFpmTheory(NginxProcess.Binary)]
    [InlineData("1.0")]
    [InlineData("1.1")]
    public async Task A_client_that_reads_nothing_does_not_hold_the_php_worker(string version)
    {
        foreach (var (server, port) in Servers())
        {
            using var stalled = await StalledClient.SendAsync(port, $"/huge.php?mb={Mebibytes}", version);

            // The one worker answers this only once the server has taken all of the first response from it.
            Assert.Equal("Hello from PHP\n", await GetAsync(port, "/hello.php").WaitAsync(TimeSpan.FromSeconds(15)));

            // The part the client has not taken waits in fastcgi_temp_path, in a file only the server may read. Like
            // nginx's, it is unlinked once open; the server's open files show it.
            if (server == "portico")
            {
                var files = OpenTempFiles(site.Portico.Pid, port);
                Assert.True(files.Length == 1, $"{server}: open temp files: {string.Join(", ", files)}");
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(files[0]));
            }

            // The client then gets the whole response, intact, and the file is closed.
            AssertHuge(server, await stalled.ReadResponseAsync());
            if (server == "portico")
            {
                for (var i = 0; i < 50 && OpenTempFiles(site.Portico.Pid, port).Length > 0; i++)
                {
                    await Task.Delay(100);
                }

                Assert.Empty(OpenTempFiles(site.Portico.Pid, port));
            }

            Assert.Empty(TempFiles(port));
        }
    }

    [PhpFpmFact]
    public async Task A_client_that_goes_away_while_the_rest_waits_in_the_file_ends_it()
    {
        var port = site.Port;
        using (var stalled = await StalledClient.SendAsync(port, $"/huge.php?mb={Mebibytes}"))
        {
            Assert.Equal("Hello from PHP\n", await GetAsync(port, "/hello.php").WaitAsync(TimeSpan.FromSeconds(15)));
            Assert.Single(OpenTempFiles(site.Portico.Pid, port));
        }

        // The client closed: the send from the file stops, and the file is closed.
        for (var i = 0; i < 50 && OpenTempFiles(site.Portico.Pid, port).Length > 0; i++)
        {
            await Task.Delay(100);
        }

        Assert.Empty(OpenTempFiles(site.Portico.Pid, port));
        Assert.Equal("Hello from PHP\n", await GetAsync(port, "/hello.php").WaitAsync(TimeSpan.FromSeconds(15)));
    }

    /// <summary>No temp file (max 0, buffering off), or one too small for the rest (1m, the backend then waits for the
    /// client to take the file's content, and the file is used again).</summary>
    [PhpFpmTheory(NginxProcess.Binary)]
    [InlineData("/nofile")]
    [InlineData("/unbuffered")]
    [InlineData("/smallfile")]
    public async Task Without_room_for_the_rest_the_php_worker_waits_for_the_client(string target)
    {
        foreach (var (server, port) in Servers())
        {
            using var stalled = await StalledClient.SendAsync(port, $"{target}?mb={Mebibytes}");
            var hello = GetAsync(port, "/hello.php");
            await Task.Delay(1500);
            Assert.False(hello.IsCompleted, $"{server}: the worker answered while the first client read nothing");
            Assert.Empty(TempFiles(port));

            // Reading lets the first response end, and the worker go on to the next.
            AssertHuge(server, await stalled.ReadResponseAsync());
            Assert.Equal("Hello from PHP\n", await hello.WaitAsync(TimeSpan.FromSeconds(15)));
        }
    }

    private IEnumerable<(string Server, int Port)> Servers()
    {
        if (site.NginxPort != 0)
        {
            yield return ("nginx", site.NginxPort);
        }

        yield return ("portico", site.Port);
    }

    private string[] TempFiles(int port)
    {
        var directory = Path.Combine(site.Root, "temp-" + port.ToString(CultureInfo.InvariantCulture));
        return Directory.Exists(directory) ? Directory.GetFiles(directory, "*", SearchOption.AllDirectories) : [];
    }

    /// <summary>The process's open files (as /proc/PID/fd links, which stat follows) that were made in the server's
    /// fastcgi_temp_path.</summary>
    private string[] OpenTempFiles(int pid, int port)
    {
        var directory = Path.Combine(site.Root, "temp-" + port.ToString(CultureInfo.InvariantCulture)) + "/";
        return Directory.GetFiles($"/proc/{pid}/fd")
            .Where(fd => new FileInfo(fd).LinkTarget is { } target && target.StartsWith(directory, StringComparison.Ordinal))
            .ToArray();
    }

    private static async Task<string> GetAsync(int port, string target)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        return await http.GetStringAsync(new Uri($"http://127.0.0.1:{port}{target}"));
    }

    private static void AssertHuge(string server, (string Head, byte[] Body) response)
    {
        Assert.True(response.Head.StartsWith("HTTP/1.1 200", StringComparison.Ordinal), $"{server}: {response.Head}");
        Assert.Equal(Mebibytes * 1024 * 1024, response.Body.Length);
        var pattern = "0123456789abcdef"u8;
        for (var at = 0; at < response.Body.Length; at += pattern.Length)
        {
            if (!response.Body.AsSpan(at, pattern.Length).SequenceEqual(pattern))
            {
                Assert.Fail($"{server}: the body differs at byte {at}");
            }
        }
    }

    /// <summary>An HTTP client with a small receive buffer that sends its request, waits until the response has begun,
    /// and reads nothing until told.</summary>
    private sealed class StalledClient : IDisposable
    {
        private readonly Socket _socket;

        private StalledClient(Socket socket) => _socket = socket;

        public static async Task<StalledClient> SendAsync(int port, string target, string version = "1.0")
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096 };
            await socket.ConnectAsync(System.Net.IPAddress.Loopback, port);
            await socket.SendAsync(Encoding.ASCII.GetBytes($"GET {target} HTTP/{version}\r\nHost: localhost\r\nConnection: close\r\n\r\n"));

            // The response has begun (a look, nothing taken): php-fpm's worker is on this request now.
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await socket.ReceiveAsync(new byte[1], SocketFlags.Peek, timeout.Token);
            return new StalledClient(socket);
        }

        /// <summary>Reads to the end (the request said Connection: close); the head and the body, de-chunked.</summary>
        public async Task<(string Head, byte[] Body)> ReadResponseAsync()
        {
            using var all = new MemoryStream();
            var buffer = new byte[64 * 1024];
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            int read;
            while ((read = await _socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token)) > 0)
            {
                all.Write(buffer, 0, read);
            }

            var bytes = all.ToArray();
            var end = bytes.AsSpan().IndexOf("\r\n\r\n"u8);
            Assert.True(end > 0, "no response head");
            var head = Encoding.ASCII.GetString(bytes, 0, end);
            var body = bytes[(end + 4)..];
            return (head, head.Contains("\r\nTransfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase) ? Dechunk(body) : body);
        }

        /// <summary>A chunked body's data; fails unless it ends with the last chunk (RFC 9112 section 7.1).</summary>
        private static byte[] Dechunk(byte[] body)
        {
            using var data = new MemoryStream();
            var at = 0;
            while (true)
            {
                var line = body.AsSpan(at).IndexOf("\r\n"u8);
                Assert.True(line > 0, $"a chunk size line at {at}");
                var size = int.Parse(Encoding.ASCII.GetString(body, at, line), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                at += line + 2;
                if (size == 0)
                {
                    Assert.True(body.AsSpan(at).SequenceEqual("\r\n"u8), "the body does not end with the last chunk");
                    return data.ToArray();
                }

                data.Write(body, at, size);
                at += size;
                Assert.True(body.AsSpan(at).StartsWith("\r\n"u8), $"no CRLF after the chunk at {at}");
                at += 2;
            }
        }

        public void Dispose() => _socket.Dispose();
    }
}

/// <summary>These tests move hundreds of MiB over loopback: they run alone, not beside the timing tests.</summary>
[CollectionDefinition(nameof(ResponseBufferingTests), DisableParallelization = true)]
public sealed class ResponseBufferingCollection;

