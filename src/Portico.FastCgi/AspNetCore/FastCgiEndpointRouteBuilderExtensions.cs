using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Portico.FastCgi.AspNetCore;

namespace Microsoft.AspNetCore.Builder;

/// <summary><c>app.MapFastCgi("/{**path}", options)</c>: route requests to a FastCGI application.</summary>
public static class FastCgiEndpointRouteBuilderExtensions
{
    public static IEndpointConventionBuilder MapFastCgi(this IEndpointRouteBuilder endpoints, string pattern, FastCgiForwarderOptions options)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var logger = endpoints.ServiceProvider.GetService<ILogger<FastCgiForwarder>>();
        var forwarder = new FastCgiForwarder(options, logger);

        // Pooled connections pin php-fpm workers: close them when the host stops.
        endpoints.ServiceProvider.GetService<IHostApplicationLifetime>()?.ApplicationStopped
            .Register(() => forwarder.DisposeAsync().AsTask().GetAwaiter().GetResult());

        // The RequestDelegate overload involves no reflection-based parameter binding (AOT-safe).
        return endpoints.Map(pattern, (Microsoft.AspNetCore.Http.RequestDelegate)forwarder.ForwardAsync);
    }
}
