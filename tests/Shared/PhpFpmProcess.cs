using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Portico.FastCgi.Client;

namespace Portico.Testing;

/// <summary>
/// A private php-fpm master started by a test: its own config, a TCP pool on a free port and a unix-socket
/// pool (<c>pm = static</c>), with the <see cref="PhpScripts"/> in <see cref="DocumentRoot"/>. Killed with its
/// workers on dispose; runs as root with <c>-R</c> when the tests do.
/// </summary>
public sealed class PhpFpmProcess : IAsyncDisposable
{
    private readonly string _configPath;
    private readonly bool _ownsDirectory;
    private Process _process;

    private PhpFpmProcess(Process process, string directory, bool ownsDirectory, int port, string socketPath, string configPath)
    {
        _process = process;
        _ownsDirectory = ownsDirectory;
        _configPath = configPath;
        Directory = directory;
        Port = port;
        SocketPath = socketPath;
    }

    /// <summary>The php-fpm binary: <c>$PORTICO_PHP_FPM</c>, else /usr/sbin/php-fpm8.2, else the last
    /// /usr/sbin/php-fpm*; null when there is none.</summary>
    public static string? Binary { get; } = FindBinary();

    /// <summary>Holds the config, the error log, the pid file, the unix socket and <see cref="DocumentRoot"/>.</summary>
    public string Directory { get; }

    public int Port { get; }

    public string SocketPath { get; }

    /// <summary>The TCP pool; its <c>ToString()</c> is the <c>fastcgi_pass</c> address (<c>127.0.0.1:port</c>).</summary>
    public FastCgiEndPoint Tcp => FastCgiEndPoint.Tcp("127.0.0.1", Port);

    /// <summary>The unix-socket pool; its <c>ToString()</c> is the <c>fastcgi_pass</c> address (<c>unix:/path</c>).</summary>
    public FastCgiEndPoint Unix => FastCgiEndPoint.Unix(SocketPath);

    public string DocumentRoot => Path.Combine(Directory, "www");

    public string ErrorLogPath => Path.Combine(Directory, "php-fpm.log");

    /// <summary>Starts php-fpm in a temp directory of its own, removed on dispose.</summary>
    public static Task<PhpFpmProcess> StartAsync(int workers, CancellationToken cancellationToken = default) =>
        StartAsync(workers, System.IO.Directory.CreateTempSubdirectory("portico-fpm-").FullName, ownsDirectory: true, cancellationToken);

    /// <summary>Starts php-fpm in <paramref name="directory"/> (created if need be, left in place on dispose).</summary>
    public static Task<PhpFpmProcess> StartAsync(int workers, string directory, CancellationToken cancellationToken = default) =>
        StartAsync(workers, directory, ownsDirectory: false, cancellationToken);

    private static async Task<PhpFpmProcess> StartAsync(int workers, string directory, bool ownsDirectory, CancellationToken cancellationToken)
    {
        var binary = Binary ?? throw new InvalidOperationException("php-fpm binary not found; CI=true requires it.");
        System.IO.Directory.CreateDirectory(directory);
        PhpScripts.WriteTo(Path.Combine(directory, "www"));

        var port = FreePort.Next();
        var socketPath = Path.Combine(directory, "fpm.sock");
        var isRoot = Environment.UserName == "root";
        var config = new StringBuilder()
            .AppendLine("[global]")
            .AppendLine("daemonize = no")
            .AppendLine($"error_log = {Path.Combine(directory, "php-fpm.log")}")
            .AppendLine($"pid = {Path.Combine(directory, "php-fpm.pid")}")
            .Append(Pool("tcp", $"127.0.0.1:{port}", workers, isRoot))
            .Append(Pool("unix", socketPath, workers, isRoot))
            .ToString();
        var configPath = Path.Combine(directory, "php-fpm.conf");
        await File.WriteAllTextAsync(configPath, config, cancellationToken);

        var fpm = new PhpFpmProcess(Launch(binary, configPath), directory, ownsDirectory, port, socketPath, configPath);
        try
        {
            await fpm.WaitUntilAcceptingAsync(cancellationToken);
        }
        catch
        {
            await fpm.DisposeAsync();
            throw;
        }

        return fpm;
    }

    private static string? FindBinary()
    {
        var configured = Environment.GetEnvironmentVariable("PORTICO_PHP_FPM");
        if (!string.IsNullOrEmpty(configured))
        {
            return File.Exists(configured) ? configured : null;
        }

        if (File.Exists("/usr/sbin/php-fpm8.2"))
        {
            return "/usr/sbin/php-fpm8.2";
        }

        return System.IO.Directory.Exists("/usr/sbin")
            ? System.IO.Directory.EnumerateFiles("/usr/sbin", "php-fpm*").Order(StringComparer.Ordinal).LastOrDefault()
            : null;
    }

    private static Process Launch(string binary, string configPath)
    {
        var start = new ProcessStartInfo(binary)
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

        var process = Process.Start(start) ?? throw new InvalidOperationException("php-fpm did not start.");
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
    public async Task RestartAsync(CancellationToken cancellationToken = default)
    {
        await KillAsync();
        _process.Dispose();
        if (File.Exists(SocketPath))
        {
            File.Delete(SocketPath);
        }

        _process = Launch(Binary!, _configPath);
        await WaitUntilAcceptingAsync(cancellationToken);
    }

    public string ReadErrorLog()
    {
        try
        {
            return File.Exists(ErrorLogPath) ? File.ReadAllText(ErrorLogPath) : "(no error log)";
        }
        catch (IOException ex)
        {
            return ex.Message;
        }
    }

    private async Task WaitUntilAcceptingAsync(CancellationToken cancellationToken)
    {
        // php-fpm has no readiness signal we can await, so probe both listeners until they accept,
        // bounded by the token and 20s, failing fast if the master exits.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(20));
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"php-fpm exited with {_process.ExitCode}: {ReadErrorLog()}");
            }

            if (await CanConnectAsync(new IPEndPoint(IPAddress.Loopback, Port), AddressFamily.InterNetwork, ProtocolType.Tcp)
                && await CanConnectAsync(new UnixDomainSocketEndPoint(SocketPath), AddressFamily.Unix, ProtocolType.Unspecified))
            {
                return;
            }

            try
            {
                await Task.Delay(50, deadline.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"php-fpm did not accept connections within 20s: {ReadErrorLog()}");
            }
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
        try
        {
            await KillAsync();
        }
        finally
        {
            _process.Dispose();
            if (_ownsDirectory)
            {
                try
                {
                    System.IO.Directory.Delete(Directory, recursive: true);
                }
                catch (IOException)
                {
                }
            }
        }
    }
}
