using Portico.Server.Hosting;
using Portico.Server.Phases;
using Portico.Server.Routing;

namespace Portico.Server.FastCgi;

/// <summary>
/// The content phase of a location with <c>fastcgi_pass</c>
/// (https://nginx.org/en/docs/http/ngx_http_fastcgi_module.html).
/// </summary>
internal static class FastCgiContent
{
    // SKELETON: the FastCGI integration replaces this.
    public static Task<PhaseOutcome> HandleAsync(RequestContext ctx, RuntimeConfig snapshot, RuntimeLocation location) =>
        Task.FromResult(PhaseOutcome.WithStatus(502));
}
