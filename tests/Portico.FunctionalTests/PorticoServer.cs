using Portico.Config;
using Portico.Server.Hosting;

namespace Portico.FunctionalTests;

/// <summary>
/// A real Portico (Kestrel and the whole pipeline) started in-process on a free loopback port
/// from config text. <c>{port}</c> and <c>{root}</c> in the text are replaced.
/// </summary>
public sealed class PorticoServer : IAsyncDisposable
{
    private readonly PorticoHost _host;

    private PorticoServer(PorticoHost host, TempDir dir, int port)
    {
        _host = host;
        Dir = dir;
        Port = port;
    }

    public TempDir Dir { get; }

    public int Port { get; }

    public string Root => Dir.Path;

    public static async Task<PorticoServer> StartAsync(string config, Action<TempDir>? files = null)
    {
        var dir = new TempDir();
        files?.Invoke(dir);
        var port = FreePort.Next();
        var text = Expand(config, dir.Path, port);
        var path = Path.Combine(dir.Path, "portico.conf");
        File.WriteAllText(path, text);
        var loaded = ConfigLoader.Load(path, dir.Path + "/");
        var host = await PorticoHost.StartAsync(loaded.Config);
        return new PorticoServer(host, dir, port);
    }

    public static string Expand(string config, string root, int port) =>
        config.Replace("{port}", port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
              .Replace("{root}", root, StringComparison.Ordinal);

    public Task<RawResponse> GetAsync(string target, string host = "localhost", string headers = "", string method = "GET") =>
        RawHttp.GetAsync(Port, target, host, headers, method);

    public Task<RawResponse> SendAsync(string request, bool isHead = false) => RawHttp.SendAsync(Port, request, isHead);

    /// <summary>Reloads with new config text (same {port} and {root}), as SIGHUP does.</summary>
    public Task ReloadAsync(string config)
    {
        var path = Path.Combine(Dir.Path, "portico.conf");
        File.WriteAllText(path, Expand(config, Dir.Path, Port));
        return _host.ReloadAsync(ConfigLoader.Load(path, Dir.Path + "/").Config);
    }

    public async ValueTask DisposeAsync()
    {
        await _host.DisposeAsync();
        Dir.Dispose();
    }
}
