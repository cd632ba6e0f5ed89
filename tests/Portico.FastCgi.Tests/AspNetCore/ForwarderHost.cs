using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;
using Portico.FastCgi.AspNetCore;

namespace Portico.FastCgi.Tests.AspNetCore;

/// <summary>A real Kestrel on 127.0.0.1:0 with MapFastCgi, and an HttpClient pointed at it.</summary>
internal sealed class ForwarderHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ForwarderHost(WebApplication app, Uri address)
    {
        _app = app;
        Address = address;
        Http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
    }

    public Uri Address { get; }

    public HttpClient Http { get; }

    public static async Task<ForwarderHost> StartAsync(FastCgiForwarderOptions options)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapFastCgi("/{**path}", options);
        await app.StartAsync();
        return new ForwarderHost(app, new Uri(app.Urls.First()));
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
