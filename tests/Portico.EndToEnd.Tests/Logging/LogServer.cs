using System.Net.Sockets;
using System.Text;

namespace Portico.EndToEnd.Tests.Logging;

/// <summary>
/// The real <c>portico</c> binary serving a temporary prefix (with <c>logs/</c> and <c>www/</c>),
/// with a pid file so the tests stop it as an operator would (<c>portico -s quit</c>).
/// The config text may use <c>{port}</c>, <c>{prefix}</c> and <c>{root}</c> (the www directory).
/// </summary>
internal sealed class LogServer : IAsyncDisposable
{
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    private LogServer(TempDir dir, int port, string conf, PorticoProcess process)
    {
        Dir = dir;
        Port = port;
        ConfPath = conf;
        Process = process;
    }

    public TempDir Dir { get; }

    public int Port { get; }

    public string ConfPath { get; }

    public PorticoProcess Process { get; }

    public string Root => Path.Combine(Dir.Path, "www");

    public string PidPath => Path.Combine(Dir.Path, "portico.pid");

    /// <summary>Writes the config (main context + <paramref name="http"/>) and starts the binary.</summary>
    public static async Task<LogServer> StartAsync(string http, string main = "", Action<TempDir>? prepare = null)
    {
        var dir = new TempDir();
        try
        {
            dir.Write("www/index.html", "<h1>home</h1>\n");
            dir.Write("www/hello.txt", "hello world\n");
            dir.Write("www/style.css", "body { color: red }\n");
            dir.Write("www/docs/index.html", "docs\n");
            prepare?.Invoke(dir);
            for (var attempt = 1; ; attempt++)
            {
                var port = FreePort.Next();
                var conf = dir.Write("portico.conf", Expand($"pid {{prefix}}/portico.pid;\n{main}\n{http}\n", dir.Path, port));
                var process = PorticoProcess.Start(dir.Path, "-p", dir.Path + "/", "-c", conf);
                var server = new LogServer(dir, port, conf, process);
                try
                {
                    await process.WaitForPortAsync(port);
                    await WaitUntilAsync(() => File.Exists(server.PidPath), "pid file");
                    return server;
                }
                catch (Exception e) when (e is InvalidOperationException or TimeoutException && attempt < 3 && process.HasExited && process.Stderr.Contains("Address already in use", StringComparison.Ordinal))
                {
                    // The free port was taken (e.g. as another test's client port) before portico bound it.
                    await process.DisposeAsync();
                }
                catch
                {
                    await process.DisposeAsync();
                    throw;
                }
            }
        }
        catch
        {
            dir.Dispose();
            throw;
        }
    }

    public static string Expand(string text, string prefix, int port)
        => text.Replace("{port}", port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
               .Replace("{root}", Path.Combine(prefix, "www"), StringComparison.Ordinal)
               .Replace("{prefix}", prefix, StringComparison.Ordinal);

    public string Log(string name) => Path.Combine(Dir.Path, "logs", name);

    /// <summary>Runs <c>portico -p PREFIX -c CONF -s SIGNAL</c> and asserts it succeeded.</summary>
    public async Task SignalAsync(string signal)
    {
        var (code, _, stderr) = await PorticoProcess.RunAsync(Dir.Path, "-p", Dir.Path + "/", "-c", ConfPath, "-s", signal);
        Assert.True(code == 0, $"portico -s {signal} failed ({code}): {stderr}");
    }

    /// <summary>Graceful stop (<c>-s quit</c>): exit code 0, the pid file gone.</summary>
    public async Task QuitAsync()
    {
        await SignalAsync("quit");
        var code = await Process.WaitForExitAsync(Patience);
        Assert.True(code == 0, $"exit code {code}; stderr: {Process.Stderr}");
    }

    /// <summary>Waits until <paramref name="file"/> holds at least <paramref name="count"/> whole lines, then returns them.</summary>
    public static async Task<string[]> WaitForLinesAsync(string file, int count)
    {
        string[] lines = [];
        await WaitUntilAsync(() => (lines = ReadLines(file)).Length >= count, $"{count} lines in {file}", () => $"has {lines.Length}");
        return lines;
    }

    /// <summary>The complete lines of a file (a trailing partial line is left out), as UTF-8 text.</summary>
    public static string[] ReadLines(string file)
    {
        if (!File.Exists(file))
        {
            return [];
        }

        var text = Encoding.UTF8.GetString(File.ReadAllBytes(file));
        var end = text.LastIndexOf('\n');
        return end < 0 ? [] : text[..end].Split('\n');
    }

    public static async Task WaitUntilAsync(Func<bool> condition, string what, Func<string>? state = null)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"timed out waiting for {what}" + (state is null ? "" : ": " + state()));
            }

            await Task.Delay(20);
        }
    }

    public Task<RawResponse> GetAsync(string target, string host = "localhost", string headers = "", string method = "GET")
        => RawHttp.GetAsync(Port, target, host, headers, method);

    public async ValueTask DisposeAsync()
    {
        await Process.DisposeAsync();
        Dir.Dispose();
    }
}

/// <summary>One kept-alive HTTP/1.1 connection; requests go one at a time, as a browser tab sends them.</summary>
internal sealed class KeepAliveClient : IDisposable
{
    private readonly TcpClient _client = new();
    private NetworkStream? _stream;

    public int LocalPort => ((System.Net.IPEndPoint)_client.Client.LocalEndPoint!).Port;

    public static async Task<KeepAliveClient> ConnectAsync(int port)
    {
        var client = new KeepAliveClient();
        using var cts = new CancellationTokenSource(RawHttp.Timeout);
        await client._client.ConnectAsync("127.0.0.1", port, cts.Token);
        client._stream = client._client.GetStream();
        return client;
    }

    /// <summary>Sends the exact bytes (Latin-1: one char, one byte) and reads one response.</summary>
    public async Task<RawResponse> SendAsync(string request, bool isHead = false)
    {
        using var cts = new CancellationTokenSource(RawHttp.Timeout);
        await _stream!.WriteAsync(Encoding.Latin1.GetBytes(request), cts.Token);
        return await RawHttp.ReadResponseAsync(_stream, isHead, cts.Token);
    }

    public Task<RawResponse> GetAsync(string target, string host = "localhost", string headers = "", string method = "GET")
        => SendAsync($"{method} {target} HTTP/1.1\r\nHost: {host}\r\n{headers}\r\n", method == "HEAD");

    /// <summary>True when the server closes the connection within <paramref name="patience"/> (nothing more arrives).</summary>
    public async Task<bool> ClosedByServerAsync(TimeSpan patience)
    {
        using var cts = new CancellationTokenSource(patience);
        try
        {
            return await _stream!.ReadAsync(new byte[1], cts.Token) == 0;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (IOException)
        {
            return true; // reset
        }
    }

    public void Dispose() => _client.Dispose();
}
