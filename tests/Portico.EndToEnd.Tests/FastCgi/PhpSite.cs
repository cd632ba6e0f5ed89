using System.Globalization;

namespace Portico.EndToEnd.Tests.FastCgi;

/// <summary>
/// A document root with the test PHP scripts, a private php-fpm and the real portico binary serving
/// <see cref="Config"/> (an http block; <c>{port}</c>, <c>{root}</c>, <c>{tcp}</c>, <c>{unix}</c> and
/// <c>{dead}</c> — a port nothing listens on — are filled in).
/// </summary>
public abstract class PhpSite : IAsyncLifetime
{
    private TempDir? _dir;
    private PorticoProcess? _portico;
    private NginxProcess? _nginx;

    protected abstract string Config { get; }

    // With nginx beside, each server keeps up to 2 idle connections (upstream keepalive 2) and each pins a php-fpm
    // worker: with fewer workers than 2 + 2 + 1, a new connection can wait in php-fpm's accept queue behind idle ones.
    protected virtual int Workers => WithNginx ? 5 : 3;

    /// <summary>Use Debian's /etc/nginx/fastcgi_params (as nginx does) instead of the embedded one.</summary>
    protected virtual bool UseSystemFastCgiParams => false;

    /// <summary>Also run real nginx on the same <see cref="Config"/> and php-fpm pool (when it is installed),
    /// on <see cref="NginxPort"/>.</summary>
    protected virtual bool WithNginx => false;

    public int Port { get; private set; }

    /// <summary>nginx's port when <see cref="WithNginx"/> (0 when nginx is not installed).</summary>
    public int NginxPort { get; private set; }

    public int DeadPort { get; private set; }

    public string Root => _dir!.Path;

    public string ErrorLogPath => Path.Combine(Root, "portico", "error.log");

    public string AccessLogPath => Path.Combine(Root, "portico", "access.log");

    public PhpFpmProcess? Fpm { get; private set; }

    public PorticoProcess Portico => _portico!;

    public bool Available => _portico is not null;

    public async Task InitializeAsync()
    {
        if (PhpFpmFactAttribute.SkipReason() is not null)
        {
            return; // the tests skip visibly (PhpFpmFact); under CI=true they fail instead.
        }

        _dir = new TempDir();
        Fpm = await PhpFpmProcess.StartAsync(Workers, Root); // its document root, with the test scripts, is Root/www
        Port = FreePort.Next();
        DeadPort = FreePort.Next();
        if (UseSystemFastCgiParams && File.Exists("/etc/nginx/fastcgi_params"))
        {
            _dir.Write("portico/fastcgi_params", await File.ReadAllTextAsync("/etc/nginx/fastcgi_params"));
        }

        var conf = _dir.Write("portico/portico.conf", "daemon off;\nmaster_process off;\nworker_processes 1;\nerror_log " + ErrorLogPath + " info;\nevents { worker_connections 256; }\n" + Expand(Config, Port));
        _portico = PorticoProcess.Start(Root, "-p", Path.Combine(Root, "portico") + "/", "-c", conf);
        await _portico.WaitForPortAsync(Port);
        if (WithNginx && File.Exists(NginxProcess.Binary))
        {
            NginxPort = FreePort.Next();
            var prefix = Path.Combine(Root, "nginx");
            Directory.CreateDirectory(prefix);
            File.Copy("/etc/nginx/fastcgi_params", Path.Combine(prefix, "fastcgi_params"));
            File.Copy("/etc/nginx/fastcgi.conf", Path.Combine(prefix, "fastcgi.conf")); // Portico uses its shipped copy
            _nginx = await NginxProcess.StartAsync(prefix, Expand(Config, NginxPort), NginxPort);
        }
    }

    public string Expand(string config, int port) =>
        config.Replace("{port}", port.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
              .Replace("{root}", Root, StringComparison.Ordinal)
              .Replace("{tcp}", Fpm!.Tcp.ToString(), StringComparison.Ordinal)
              .Replace("{unix}", Fpm.Unix.ToString(), StringComparison.Ordinal)
              .Replace("{dead}", "127.0.0.1:" + DeadPort.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);

    /// <summary>Waits (bounded) until the access log <c>{root}/access-{port}.log</c> (a config's choice) of the server
    /// on <paramref name="port"/> has <paramref name="line"/>; fails with the log otherwise.</summary>
    public async Task WaitForAccessLineAsync(int port, string line)
    {
        var path = Path.Combine(Root, $"access-{port}.log");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        string log;
        do
        {
            log = File.Exists(path) ? await File.ReadAllTextAsync(path) : "";
            if (log.Contains(line, StringComparison.Ordinal))
            {
                return;
            }

            await Task.Delay(50);
        }
        while (DateTime.UtcNow < deadline);

        Assert.Fail($"the access log of port {port} has no \"{line}\":\n{log}");
    }

    /// <summary>Waits (bounded) until the error log contains <paramref name="text"/>; returns the log.</summary>
    public async Task<string> WaitForErrorLogAsync(string text)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            var log = File.Exists(ErrorLogPath) ? await File.ReadAllTextAsync(ErrorLogPath) : "";
            if (log.Contains(text, StringComparison.Ordinal) || DateTime.UtcNow > deadline)
            {
                return log;
            }

            await Task.Delay(50);
        }
    }

    public async Task DisposeAsync()
    {
        if (_nginx is not null)
        {
            await _nginx.DisposeAsync();
        }

        if (_portico is not null)
        {
            await _portico.DisposeAsync();
        }

        if (Fpm is not null)
        {
            await Fpm.DisposeAsync();
        }

        _dir?.Dispose();
    }
}

/// <summary>A PHP site under portico and under real nginx beside it: one config, one php-fpm pool, and nginx's own
/// <c>fastcgi_params</c> for both.</summary>
public abstract class NginxBesidePhpSite : PhpSite
{
    protected override bool UseSystemFastCgiParams => true;

    protected override bool WithNginx => true;
}
