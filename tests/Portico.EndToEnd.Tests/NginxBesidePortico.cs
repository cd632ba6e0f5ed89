using System.Globalization;

namespace Portico.EndToEnd.Tests;

/// <summary>
/// nginx and Portico started on one config (an <c>http</c> block with <c>{port}</c>, optionally <c>{port2}</c> for a
/// second server, and <c>{root}</c>), each on ports of its own, root the test's directory: for tests that compare the
/// two side by side.
/// </summary>
internal sealed class NginxBesidePortico : IAsyncDisposable
{
    private NginxProcess? _nginx;
    private PorticoProcess? _portico;

    private NginxBesidePortico()
    {
    }

    public int NginxPort { get; private init; }

    public int PorticoPort { get; private init; }

    /// <summary>Each server's <c>{port2}</c>.</summary>
    public int NginxPort2 { get; private init; }

    public int PorticoPort2 { get; private init; }

    /// <summary>Both servers, named as test messages name them.</summary>
    public IEnumerable<(string Server, int Port)> Servers => [("nginx", NginxPort), ("portico", PorticoPort)];

    /// <summary>Both servers with their <c>{port2}</c> too.</summary>
    public IEnumerable<(string Server, int Port, int Port2)> ServersWithPort2 => [("nginx", NginxPort, NginxPort2), ("portico", PorticoPort, PorticoPort2)];

    public static async Task<NginxBesidePortico> StartAsync(TempDir dir, string http)
    {
        var servers = new NginxBesidePortico { NginxPort = FreePort.Next(), PorticoPort = FreePort.Next(), NginxPort2 = FreePort.Next(), PorticoPort2 = FreePort.Next() };
        try
        {
            var conf = dir.Write("portico.conf", Expand(http, dir, servers.PorticoPort, servers.PorticoPort2));
            servers._nginx = await NginxProcess.StartAsync(Path.Combine(dir.Path, "nginx"), Expand(http, dir, servers.NginxPort, servers.NginxPort2), servers.NginxPort);
            servers._portico = PorticoProcess.Start(dir.Path, "-p", dir.Path + "/", "-c", conf);
            await servers._portico.WaitForPortAsync(servers.PorticoPort);
            return servers;
        }
        catch
        {
            await servers.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_portico is not null)
        {
            await _portico.DisposeAsync();
        }

        if (_nginx is not null)
        {
            await _nginx.DisposeAsync();
        }
    }

    private static string Expand(string http, TempDir dir, int port, int port2) =>
        http.Replace("{port}", port.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{port2}", port2.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{root}", dir.Path, StringComparison.Ordinal);
}
