using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Portico.Config.Model;
using Portico.Server.Static;
using StaticFileOptions = Portico.Server.Static.StaticFileOptions;

namespace Portico.Server.Tests.Static;

/// <summary>A TimeProvider whose clock only moves when the test says so.</summary>
internal sealed class ManualTimeProvider : TimeProvider
{
    private long _ticks = DateTimeOffset.Parse("2026-11-24T10:00:00Z", CultureInfo.InvariantCulture).UtcTicks;

    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    public override long GetTimestamp() => Interlocked.Read(ref _ticks);

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}

/// <summary>A temporary directory removed at dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "portico-static-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);

        // nginx workers may run unprivileged: keep the tree world-readable.
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(Path, (UnixFileMode)0x1ED);
        }
    }

    public string Path { get; }

    public string Write(string relative, byte[] content, DateTimeOffset? mtime = null)
    {
        string full = System.IO.Path.Combine(Path, relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        File.WriteAllBytes(full, content);
        if (mtime is { } m)
        {
            File.SetLastWriteTimeUtc(full, m.UtcDateTime);
        }

        return full;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>
/// A minimal in-process Kestrel on 127.0.0.1:0 that maps the URI onto a root and calls the
/// static components the way the pipeline will: lookup, then autoindex or file responder, and a
/// plain nginx-like error page when a responder leaves the response to the caller.
/// </summary>
internal sealed class StaticHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private StaticHost(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; private set; }

    public long? NextBoundary { get; set; }

    public static async Task<StaticHost> StartAsync(string root, LocationSettings settings, TimeProvider? time = null)
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(o => o.Listen(IPAddress.Loopback, 0));
        WebApplication app = builder.Build();
        time ??= TimeProvider.System;
        var cache = new OpenFileCache(time);
        StaticHost? host = null;
        var responder = new StaticFileResponder(() => host!.NextBoundary ?? 1);
        var autoindex = new AutoindexResponder(time);
        MimeTypes types = MimeTypes.For(settings);

        app.Run(async http =>
        {
            string uri = Uri.UnescapeDataString(http.Request.Path.Value ?? "/");
            if (!StaticFileResponder.IsAllowedMethod(http.Request.Method))
            {
                await ErrorAsync(http, 405);
                return;
            }

            bool head = HttpMethods.IsHead(http.Request.Method);
            string path = Path.Combine(root, uri.TrimStart('/'));
            FileLookup file = cache.Lookup(path.EndsWith('/') && path.Length > 1 ? path[..^1] : path);
            StaticSendResult result;
            switch (file.Kind)
            {
                case FileKind.File:
                    result = await responder.SendAsync(http, file, new StaticFileOptions(types.Resolve(uri), settings.Etag, settings.IfModifiedSince, head), http.RequestAborted);
                    break;
                case FileKind.Directory when uri.EndsWith('/') && settings.Autoindex:
                    result = await autoindex.SendAsync(http, file.Path, uri, AutoindexOptions.From(settings, head), http.RequestAborted);
                    break;
                case FileKind.Forbidden:
                    result = new StaticSendResult(403, 0, false);
                    break;
                default:
                    result = new StaticSendResult(404, 0, false);
                    break;
            }

            if (!result.ResponseSent)
            {
                await ErrorAsync(http, result.StatusCode);
            }
        });

        await app.StartAsync();
        string address = app.Urls.First();
        host = new StaticHost(app, new Uri(address));
        return host;
    }

    private static Task ErrorAsync(HttpContext http, int status)
    {
        http.Response.StatusCode = status;
        http.Response.ContentType = "text/html";
        return http.Response.WriteAsync($"<html>\r\n<head><title>{status}</title></head>\r\n</html>\r\n");
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>
/// Runs only where /usr/sbin/nginx exists; with CI=true a missing nginx is not skipped, so the
/// side-by-side test fails loudly instead of silently passing.
/// </summary>
internal sealed class NginxFactAttribute : FactAttribute
{
    public NginxFactAttribute()
    {
        if (!File.Exists(NginxProcess.Binary) && !string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
        {
            Skip = "nginx not installed at " + NginxProcess.Binary + " (set CI=true to make this a failure)";
        }
    }
}

/// <summary>The <see cref="NginxFactAttribute"/> rule for theories.</summary>
internal sealed class NginxTheoryAttribute : TheoryAttribute
{
    public NginxTheoryAttribute()
    {
        Skip = new NginxFactAttribute().Skip;
    }
}

/// <summary>Real nginx on a free loopback port, serving a given root with a given location body.</summary>
internal sealed class NginxProcess : IDisposable
{
    public const string Binary = "/usr/sbin/nginx";

    private readonly Process _process;
    private readonly string _prefix;

    private NginxProcess(Process process, string prefix, Uri baseAddress)
    {
        _process = process;
        _prefix = prefix;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    public static NginxProcess Start(string root, string locationDirectives, string extraLocations = "")
    {
        if (!File.Exists(Binary))
        {
            throw new InvalidOperationException("nginx is required (CI=true) but " + Binary + " is missing");
        }

        string prefix = Path.Combine(Path.GetTempPath(), "portico-nginx-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path.Combine(prefix, "logs"));
        int port = FreePort();
        string user = Environment.IsPrivilegedProcess ? "user root;\n" : "";
        string conf = $$"""
            {{user}}worker_processes 1;
            events { }
            http {
                types { text/plain txt; text/html html; application/octet-stream bin; }
                default_type application/octet-stream;
                access_log off;
                client_body_temp_path {{prefix}}/cbt; proxy_temp_path {{prefix}}/pt; fastcgi_temp_path {{prefix}}/ft;
                uwsgi_temp_path {{prefix}}/ut; scgi_temp_path {{prefix}}/st;
                server {
                    listen 127.0.0.1:{{port}};
                    root {{root}};
                    location / { {{locationDirectives}} }
                    {{extraLocations}}
                }
            }
            """;
        string confPath = Path.Combine(prefix, "nginx.conf");
        File.WriteAllText(confPath, conf);
        var info = new ProcessStartInfo(Binary)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (string arg in new[] { "-p", prefix, "-c", confPath, "-g", $"daemon off; pid {prefix}/nginx.pid; error_log stderr;" })
        {
            info.ArgumentList.Add(arg);
        }

        Process process = Process.Start(info)!;
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(10))
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException("nginx exited with " + process.ExitCode);
            }

            try
            {
                using var probe = new TcpClient();
                probe.Connect(IPAddress.Loopback, port);
                return new NginxProcess(process, prefix, new Uri($"http://127.0.0.1:{port}/"));
            }
            catch (SocketException)
            {
                Thread.Sleep(50);
            }
        }

        process.Kill(entireProcessTree: true);
        throw new TimeoutException("nginx did not start listening");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void Dispose()
    {
        try
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }
        catch (InvalidOperationException)
        {
        }

        _process.Dispose();
        try
        {
            Directory.Delete(_prefix, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
