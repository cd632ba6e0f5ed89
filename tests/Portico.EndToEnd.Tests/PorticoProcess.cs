using System.Diagnostics;
using System.Text;

namespace Portico.EndToEnd.Tests;

/// <summary>The built <c>portico</c> binary run as a child process, as a user or a tool would.</summary>
public sealed class PorticoProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();

    private PorticoProcess(Process process)
    {
        _process = process;
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (_stdout) { _stdout.AppendLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (_stderr) { _stderr.AppendLine(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public static string BinaryPath => Path.Combine(AppContext.BaseDirectory, "portico");

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public string Stdout { get { lock (_stdout) { return _stdout.ToString(); } } }

    public string Stderr { get { lock (_stderr) { return _stderr.ToString(); } } }

    public static PorticoProcess Start(string workingDirectory, params string[] args) =>
        Start(workingDirectory, new Dictionary<string, string>(), args);

    public static PorticoProcess Start(string workingDirectory, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var info = new ProcessStartInfo(BinaryPath)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        return new PorticoProcess(Process.Start(info)!);
    }

    /// <summary>Runs to completion (bounded) and returns exit code, stdout, stderr.</summary>
    public static async Task<(int Code, string Stdout, string Stderr)> RunAsync(string workingDirectory, params string[] args)
    {
        await using var process = Start(workingDirectory, args);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process._process.WaitForExitAsync(cts.Token);
        process._process.WaitForExit();
        return (process.ExitCode, process.Stdout, process.Stderr);
    }

    /// <summary>Waits until the port accepts connections (or the process dies).</summary>
    public async Task WaitForPortAsync(int port, string address = "127.0.0.1")
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"portico exited with {_process.ExitCode}: {Stderr}");
            }

            try
            {
                using var client = new System.Net.Sockets.TcpClient(System.Net.IPAddress.Parse(address).AddressFamily);
                await client.ConnectAsync(address, port);
                return;
            }
            catch (System.Net.Sockets.SocketException)
            {
                await Task.Delay(20);
            }
        }

        throw new TimeoutException("portico did not listen on " + port + ": " + Stderr);
    }

    public void Signal(string name)
    {
        using var kill = Process.Start("kill", ["-" + name, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        _process.WaitForExit();
        return _process.ExitCode;
    }

    public void CloseStdin() => _process.StandardInput.Close();

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
