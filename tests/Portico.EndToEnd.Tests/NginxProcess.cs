using System.Diagnostics;

namespace Portico.EndToEnd.Tests;

/// <summary>
/// Debian's real nginx, run in the foreground as a single process on a test port with its
/// own prefix, so the side-by-side tests compare against the reference implementation.
/// </summary>
public sealed class NginxProcess : IAsyncDisposable
{
    public const string Binary = "/usr/sbin/nginx";

    private readonly Process _process;

    private NginxProcess(Process process, string prefix)
    {
        _process = process;
        Prefix = prefix;
    }

    public string Prefix { get; }

    /// <summary>Starts nginx with an http-block config (the main context is supplied here).</summary>
    public static async Task<NginxProcess> StartAsync(string prefix, string httpConfig, int port)
    {
        Directory.CreateDirectory(Path.Combine(prefix, "logs"));
        var conf = Path.Combine(prefix, "nginx.conf");
        File.WriteAllText(conf, "daemon off;\nmaster_process off;\npid " + prefix + "/nginx.pid;\nerror_log stderr;\nevents { worker_connections 128; }\n" + httpConfig);
        var info = new ProcessStartInfo(Binary)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "-p", prefix + "/", "-c", conf, "-e", "stderr" })
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info)!;
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException("nginx exited: " + process.ExitCode);
            }

            try
            {
                using var client = new System.Net.Sockets.TcpClient();
                await client.ConnectAsync("127.0.0.1", port);
                break;
            }
            catch (System.Net.Sockets.SocketException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }
        }

        return new NginxProcess(process, prefix);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
