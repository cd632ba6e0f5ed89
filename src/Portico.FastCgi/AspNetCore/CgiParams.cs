using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Portico.FastCgi.Client;

namespace Portico.FastCgi.AspNetCore;

/// <summary>The standard CGI/1.1 params (RFC 3875 section 4.1) as nginx's fastcgi_params file sets them.</summary>
internal static class CgiParams
{
    public static void Add(FastCgiRequest request, HttpContext context, FastCgiForwarderOptions options, long? contentLength)
    {
        var http = context.Request;
        var uri = (http.PathBase + http.Path).Value ?? "/";
        if (uri.Length == 0)
        {
            uri = "/";
        }

        if (uri.EndsWith('/'))
        {
            uri += options.Index;
        }

        var (scriptName, pathInfo) = SplitPathInfo(uri, options.PathInfoSplitAfter);
        var root = options.DocumentRoot.TrimEnd('/');
        var query = http.QueryString.HasValue ? http.QueryString.Value![1..] : "";
        var rawTarget = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        var connection = context.Connection;

        request
            .Add("SCRIPT_FILENAME", root + scriptName)
            .Add("QUERY_STRING", query)
            .Add("REQUEST_METHOD", http.Method)
            .Add("CONTENT_TYPE", http.ContentType ?? "")
            .Add("CONTENT_LENGTH", contentLength?.ToString(CultureInfo.InvariantCulture) ?? "")
            .Add("SCRIPT_NAME", scriptName)
            .Add("PATH_INFO", pathInfo)
            .Add("REQUEST_URI", string.IsNullOrEmpty(rawTarget) ? (http.PathBase + http.Path).Value + http.QueryString.Value : rawTarget)
            .Add("DOCUMENT_URI", uri)
            .Add("DOCUMENT_ROOT", root)
            .Add("SERVER_PROTOCOL", http.Protocol)
            .Add("REQUEST_SCHEME", http.Scheme)
            .Add("GATEWAY_INTERFACE", "CGI/1.1")
            .Add("SERVER_SOFTWARE", options.ServerSoftware)
            .Add("REMOTE_ADDR", connection.RemoteIpAddress?.ToString() ?? "")
            .Add("REMOTE_PORT", connection.RemotePort.ToString(CultureInfo.InvariantCulture))
            .Add("SERVER_ADDR", connection.LocalIpAddress?.ToString() ?? "")
            .Add("SERVER_PORT", connection.LocalPort.ToString(CultureInfo.InvariantCulture))
            .Add("SERVER_NAME", http.Host.Host)
            // php-cgi built with force-cgi-redirect refuses to run without it (php.ini cgi.force_redirect).
            .Add("REDIRECT_STATUS", "200");
        if (http.IsHttps)
        {
            request.Add("HTTPS", "on");
        }

        AddHeaders(request, http.Headers);
    }

    /// <summary>
    /// Request headers become HTTP_NAME with '-' turned into '_' (RFC 3875 section 4.1.18).
    /// Headers whose name contains '_' are dropped, as nginx does by default (underscores_in_headers off),
    /// so "X_Forwarded_For" cannot impersonate "X-Forwarded-For". "Proxy" is dropped so HTTP_PROXY cannot be
    /// injected into a script's outgoing HTTP client (httpoxy, CVE-2016-5385).
    /// </summary>
    internal static void AddHeaders(FastCgiRequest request, IHeaderDictionary headers)
    {
        foreach (var (name, values) in headers)
        {
            if (name.Contains('_', StringComparison.Ordinal) || name.Equals("Proxy", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            var separator = name.Equals("Cookie", StringComparison.OrdinalIgnoreCase) ? "; " : ", ";
            request.Add(ToParamName(name), values.Count == 1 ? values[0] ?? "" : string.Join(separator, values.ToArray()));
        }
    }

    internal static string ToParamName(string header) =>
        string.Create(header.Length + 5, header, static (span, h) =>
        {
            "HTTP_".CopyTo(span);
            for (var i = 0; i < h.Length; i++)
            {
                var c = h[i];
                span[5 + i] = c == '-' ? '_' : char.ToUpperInvariant(c);
            }
        });

    internal static (string ScriptName, string PathInfo) SplitPathInfo(string uri, string? marker)
    {
        if (string.IsNullOrEmpty(marker))
        {
            return (uri, "");
        }

        var index = uri.IndexOf(marker + "/", StringComparison.Ordinal);
        if (index <= 0)
        {
            return (uri, "");
        }

        var end = index + marker.Length;
        return (uri[..end], uri[end..]);
    }
}
