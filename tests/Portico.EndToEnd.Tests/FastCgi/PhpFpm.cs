using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Portico.EndToEnd.Tests.FastCgi;

/// <summary>
/// A private php-fpm master for one test class: its own config, a TCP pool on a free port and a unix-socket
/// pool, <c>pm = static</c>; killed with its workers on dispose. Runs as root with <c>-R</c> when the tests do.
/// </summary>
public sealed class PhpFpm : IAsyncDisposable
{
    public const string Binary = "/usr/sbin/php-fpm8.2";

    private readonly string _configPath;
    private Process _process;

    private PhpFpm(Process process, string directory, int port, string socketPath, string configPath)
    {
        _process = process;
        Directory = directory;
        Port = port;
        SocketPath = socketPath;
        _configPath = configPath;
    }

    public string Directory { get; }

    public int Port { get; }

    public string SocketPath { get; }

    /// <summary><c>fastcgi_pass</c> address of the TCP pool.</summary>
    public string Tcp => "127.0.0.1:" + Port.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary><c>fastcgi_pass</c> address of the unix-socket pool.</summary>
    public string Unix => "unix:" + SocketPath;

    public string ErrorLog => File.Exists(Path.Combine(Directory, "php-fpm.log")) ? File.ReadAllText(Path.Combine(Directory, "php-fpm.log")) : "";

    public static async Task<PhpFpm> StartAsync(string directory, int workers, int? port = null)
    {
        System.IO.Directory.CreateDirectory(directory);
        var tcpPort = port ?? FreePort.Next();
        var socketPath = Path.Combine(directory, "fpm.sock");
        var isRoot = Environment.UserName == "root";
        var config = new StringBuilder()
            .AppendLine("[global]")
            .AppendLine("daemonize = no")
            .AppendLine($"error_log = {Path.Combine(directory, "php-fpm.log")}")
            .Append(Pool("tcp", $"127.0.0.1:{tcpPort}", workers, isRoot))
            .Append(Pool("unix", socketPath, workers, isRoot))
            .ToString();
        var configPath = Path.Combine(directory, "php-fpm.conf");
        await File.WriteAllTextAsync(configPath, config);
        var fpm = new PhpFpm(Launch(configPath), directory, tcpPort, socketPath, configPath);
        await fpm.WaitUntilAcceptingAsync();
        return fpm;
    }

    /// <summary>SIGKILL the master and its workers, as a crash would.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }
    }

    /// <summary>Starts the same pools again (same port and socket) after <see cref="KillAsync"/>.</summary>
    public async Task RestartAsync()
    {
        await KillAsync();
        _process.Dispose();
        if (File.Exists(SocketPath))
        {
            File.Delete(SocketPath);
        }

        _process = Launch(_configPath);
        await WaitUntilAcceptingAsync();
    }

    private static Process Launch(string configPath)
    {
        var start = new ProcessStartInfo(Binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("--nodaemonize");
        start.ArgumentList.Add("--fpm-config");
        start.ArgumentList.Add(configPath);
        if (Environment.UserName == "root")
        {
            // php-fpm refuses to run workers as root without -R (--allow-to-run-as-root).
            start.ArgumentList.Add("-R");
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("php-fpm did not start");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static string Pool(string name, string listen, int workers, bool isRoot) => $"""

        [{name}]
        {(isRoot ? "user = root" : "")}
        listen = {listen}
        pm = static
        pm.max_children = {workers}
        catch_workers_output = yes
        clear_env = yes
        php_admin_value[post_max_size] = 64M
        php_admin_value[upload_max_filesize] = 64M
        php_admin_value[memory_limit] = 256M
        php_admin_value[output_buffering] = 0
        php_admin_flag[log_errors] = on

        """;

    private async Task WaitUntilAcceptingAsync()
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"php-fpm exited with {_process.ExitCode}: {ErrorLog}");
            }

            if (await CanConnectAsync(new IPEndPoint(IPAddress.Loopback, Port), AddressFamily.InterNetwork, ProtocolType.Tcp)
                && await CanConnectAsync(new UnixDomainSocketEndPoint(SocketPath), AddressFamily.Unix, ProtocolType.Unspecified))
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("php-fpm did not accept connections within 20s: " + ErrorLog);
            }

            await Task.Delay(50);
        }
    }

    private static async Task<bool> CanConnectAsync(EndPoint endPoint, AddressFamily family, ProtocolType protocol)
    {
        using var socket = new Socket(family, SocketType.Stream, protocol);
        try
        {
            await socket.ConnectAsync(endPoint);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }
}
