using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Portico.FastCgi.Client;

namespace Portico.FastCgi.Tests.Infrastructure;

/// <summary>
/// A private php-fpm master started by a test: its own config, document root, TCP port and unix socket,
/// all in a temp directory, killed (with its workers) on dispose.
/// </summary>
internal sealed class PhpFpmProcess : IAsyncDisposable
{
    private readonly Process _process;

    private PhpFpmProcess(Process process, string directory, int port, string socketPath, string documentRoot)
    {
        _process = process;
        Directory = directory;
        Tcp = FastCgiEndPoint.Tcp("127.0.0.1", port);
        Unix = FastCgiEndPoint.Unix(socketPath);
        DocumentRoot = documentRoot;
    }

    public string Directory { get; }

    public FastCgiEndPoint Tcp { get; }

    public FastCgiEndPoint Unix { get; }

    public string DocumentRoot { get; }

    public string ErrorLogPath => Path.Combine(Directory, "php-fpm.log");

    public static string? FindBinary()
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

    /// <summary>Starts php-fpm with a TCP pool and a unix-socket pool of <paramref name="workers"/> static children each.</summary>
    public static async Task<PhpFpmProcess> StartAsync(int workers, CancellationToken cancellationToken)
    {
        var binary = FindBinary() ?? throw new InvalidOperationException("php-fpm binary not found; CI=true requires it.");
        var directory = System.IO.Directory.CreateTempSubdirectory("portico-fpm-").FullName;
        var documentRoot = Path.Combine(directory, "www");
        System.IO.Directory.CreateDirectory(documentRoot);
        PhpScripts.WriteTo(documentRoot);

        var port = FreePort();
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

        var start = new ProcessStartInfo(binary)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("--nodaemonize");
        start.ArgumentList.Add("--fpm-config");
        start.ArgumentList.Add(configPath);
        if (isRoot)
        {
            // php-fpm refuses to run workers as root without -R (--allow-to-run-as-root).
            start.ArgumentList.Add("-R");
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("php-fpm did not start.");
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var fpm = new PhpFpmProcess(process, directory, port, socketPath, documentRoot);
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

    private async Task WaitUntilAcceptingAsync(CancellationToken cancellationToken)
    {
        // php-fpm has no readiness signal we can await, so probe both listeners until they accept,
        // bounded by the token and failing fast if the master exits.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(TimeSpan.FromSeconds(20));
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"php-fpm exited with {_process.ExitCode}: {ReadErrorLog()}");
            }

            if (await CanConnectAsync(new IPEndPoint(IPAddress.Loopback, Tcp.Port), AddressFamily.InterNetwork, ProtocolType.Tcp)
                && await CanConnectAsync(new UnixDomainSocketEndPoint(Unix.UnixSocketPath!), AddressFamily.Unix, ProtocolType.Unspecified))
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

    private static int FreePort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
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

    public async ValueTask DisposeAsync()
    {
        try
        {
            await KillAsync();
        }
        finally
        {
            _process.Dispose();
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
