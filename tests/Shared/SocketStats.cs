using System.Diagnostics;

namespace Portico.Testing;

/// <summary>iproute2's <c>ss</c>: what the kernel says about sockets (backlogs, timers), read by tests.</summary>
public static class SocketStats
{
    public const string Path = "/usr/bin/ss";

    /// <summary>Runs <c>ss</c> with <paramref name="arguments"/> and returns what it printed.</summary>
    public static async Task<string> RunAsync(params string[] arguments)
    {
        var info = new ProcessStartInfo(Path, arguments) { RedirectStandardOutput = true };
        using var ss = Process.Start(info)!;
        var output = await ss.StandardOutput.ReadToEndAsync();
        await ss.WaitForExitAsync();
        return output;
    }

    /// <summary>The established TCP connections to <paramref name="port"/>, one line each, with their timers (<c>-o</c>).</summary>
    public static Task<string> ConnectionsToAsync(int port) => RunAsync("-tnoH", "state", "established", $"dport = :{port}");
}
