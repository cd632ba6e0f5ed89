using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Text;

namespace Portico.Server.Phases;

/// <summary>
/// nginx's status lines and built-in error pages (src/http/ngx_http_header_filter_module.c and
/// ngx_http_special_response.c). They differ from RFC 9110's phrases in places nginx users
/// and tools know (<c>302 Moved Temporarily</c>, <c>405 Not Allowed</c>), and a page title may
/// differ from its status line (<c>302 Found</c>).
/// </summary>
internal static class StatusText
{
    private static readonly FrozenDictionary<int, string> s_reasons = new Dictionary<int, string>
    {
        [200] = "OK",
        [201] = "Created",
        [202] = "Accepted",
        [204] = "No Content",
        [206] = "Partial Content",
        [301] = "Moved Permanently",
        [302] = "Moved Temporarily",
        [303] = "See Other",
        [304] = "Not Modified",
        [307] = "Temporary Redirect",
        [308] = "Permanent Redirect",
        [400] = "Bad Request",
        [401] = "Unauthorized",
        [402] = "Payment Required",
        [403] = "Forbidden",
        [404] = "Not Found",
        [405] = "Not Allowed",
        [406] = "Not Acceptable",
        [408] = "Request Time-out",
        [409] = "Conflict",
        [410] = "Gone",
        [411] = "Length Required",
        [412] = "Precondition Failed",
        [413] = "Request Entity Too Large",
        [414] = "Request-URI Too Large",
        [415] = "Unsupported Media Type",
        [416] = "Requested Range Not Satisfiable",
        [421] = "Misdirected Request",
        [429] = "Too Many Requests",
        [500] = "Internal Server Error",
        [501] = "Not Implemented",
        [502] = "Bad Gateway",
        [503] = "Service Temporarily Unavailable",
        [504] = "Gateway Time-out",
        [505] = "HTTP Version Not Supported",
        [507] = "Insufficient Storage",
    }.ToFrozenDictionary();

    // Page titles that differ from the status line.
    private static readonly FrozenDictionary<int, string> s_titles = new Dictionary<int, string>
    {
        [302] = "Found",
    }.ToFrozenDictionary();

    /// <summary>The reason phrase nginx puts in the status line; "" for codes it has none for.</summary>
    public static string Reason(int code) => s_reasons.GetValueOrDefault(code, "");

    /// <summary>True when nginx has a built-in page for the code (others get an empty body).</summary>
    public static bool HasPage(int code) => code >= 301 && s_reasons.ContainsKey(code) && code != 304;

    // The pages as sent, per code and signature (server_tokens gives a handful): a 502 for every request while a
    // backend is down built and encoded its page every time.
    private static readonly ConcurrentDictionary<(int Code, string Signature), byte[]> s_pageBytes = new();

    /// <summary><see cref="Page"/> in ASCII, made once per code and signature. Not to be written to.</summary>
    public static byte[] PageBytes(int code, string signature) =>
        s_pageBytes.GetOrAdd((code, signature), static key => Encoding.ASCII.GetBytes(Page(key.Code, key.Signature)));

    /// <summary>The built-in page, e.g. <c>&lt;html&gt;\r\n&lt;head&gt;&lt;title&gt;404 Not Found&lt;/title&gt;...</c>.</summary>
    public static string Page(int code, string signature)
    {
        var title = $"{code} {(s_titles.TryGetValue(code, out var t) ? t : Reason(code))}";
        return "<html>\r\n<head><title>" + title + "</title></head>\r\n<body>\r\n<center><h1>" + title
            + "</h1></center>\r\n<hr><center>" + signature + "</center>\r\n</body>\r\n</html>\r\n";
    }

    /// <summary>Codes after which nginx closes the connection (ngx_http_special_response_handler).</summary>
    public static bool ClosesConnection(int code) => code is 400 or 413 or 414 or 500 or 501;
}
