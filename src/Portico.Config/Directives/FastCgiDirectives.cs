namespace Portico.Config.Directives;

/// <summary>ngx_http_fastcgi_module (https://nginx.org/en/docs/http/ngx_http_fastcgi_module.html).</summary>
internal static class FastCgiDirectives
{
    public static IEnumerable<DirectiveSpec> All => [];
}
