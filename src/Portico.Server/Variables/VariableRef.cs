using System.Buffers;
using System.Buffers.Text;
using System.Collections.Frozen;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Primitives;
using Portico.Server.Phases;

namespace Portico.Server.Variables;

/// <summary>
/// One resolved variable reference: the kind plus its argument. <see cref="Get"/> returns null for
/// nginx's "not found" (the access log prints <c>-</c> for it in the default escaping) and a
/// string (possibly empty) for a found value.
/// </summary>
internal readonly struct VariableRef
{
    private static readonly FrozenDictionary<string, VariableKind> s_builtins = new Dictionary<string, VariableKind>(StringComparer.Ordinal)
    {
        ["status"] = VariableKind.Status,
        ["body_bytes_sent"] = VariableKind.BodyBytesSent,
        ["gzip_ratio"] = VariableKind.GzipRatio,
        ["bytes_sent"] = VariableKind.BytesSent,
        ["request_length"] = VariableKind.RequestLength,
        ["request_time"] = VariableKind.RequestTime,
        ["msec"] = VariableKind.Msec,
        ["time_local"] = VariableKind.TimeLocal,
        ["time_iso8601"] = VariableKind.TimeIso8601,
        ["connection"] = VariableKind.Connection,
        ["connection_requests"] = VariableKind.ConnectionRequests,
        ["pid"] = VariableKind.Pid,
        ["remote_port"] = VariableKind.RemotePort,
        ["server_port"] = VariableKind.ServerPort,
        ["remote_addr"] = VariableKind.RemoteAddr,
        ["remote_user"] = VariableKind.RemoteUser,
        ["request"] = VariableKind.Request,
        ["request_method"] = VariableKind.RequestMethod,
        ["request_uri"] = VariableKind.RequestUri,
        ["uri"] = VariableKind.Uri,
        ["document_uri"] = VariableKind.Uri,
        ["args"] = VariableKind.Args,
        ["query_string"] = VariableKind.Args,
        ["is_args"] = VariableKind.IsArgs,
        ["host"] = VariableKind.Host,
        ["hostname"] = VariableKind.Hostname,
        ["server_name"] = VariableKind.ServerName,
        ["server_addr"] = VariableKind.ServerAddr,
        ["scheme"] = VariableKind.Scheme,
        ["https"] = VariableKind.Https,
        ["server_protocol"] = VariableKind.ServerProtocol,
        ["document_root"] = VariableKind.DocumentRoot,
        ["request_filename"] = VariableKind.RequestFilename,
        ["content_type"] = VariableKind.ContentType,
        ["content_length"] = VariableKind.ContentLength,
        ["nginx_version"] = VariableKind.NginxVersion,
        ["request_id"] = VariableKind.RequestId,
    }.ToFrozenDictionary(StringComparer.Ordinal);

    private static readonly Lazy<string> s_hostname = new(Dns.GetHostName);

    /// <summary>Portico's version, reported where nginx reports its own (<c>$nginx_version</c>).</summary>
    public static readonly string Version = ReadVersion();

    private VariableRef(VariableKind kind, string name, string? arg, int index)
    {
        Kind = kind;
        Name = name;
        Arg = arg;
        Index = index;
    }

    public VariableKind Kind { get; }

    /// <summary>The variable's name as nginx prints it in diagnostics (lower-cased).</summary>
    public string Name { get; }

    public string? Arg { get; }

    public int Index { get; }

    /// <summary>True when the value is printable ASCII without <c>"</c> or <c>\</c>, so no log escaping applies.</summary>
    public bool IsAsciiSafe => Kind <= VariableKind.ServerAddr;

    public static VariableRef Capture(int n) => new(VariableKind.Capture, n.ToString(CultureInfo.InvariantCulture), null, n);

    /// <summary>
    /// Resolves a variable name as nginx does: names are case-insensitive (ngx_hash_strlow), the
    /// built-in table first, then the prefix families, then the names the scope declares.
    /// </summary>
    public static bool TryResolve(string name, VariableScope scope, out VariableRef variable)
    {
        var lower = name.ToLowerInvariant();
        if (s_builtins.TryGetValue(lower, out var kind))
        {
            variable = new VariableRef(kind, lower, null, 0);
            return true;
        }

        // Families (ngx_http_variables_init_vars prefix table). Header names map '_' to '-'.
        if (TryFamily(lower, "http_", VariableKind.HttpHeader, out variable, header: true)
            || TryFamily(lower, "sent_http_", VariableKind.SentHttpHeader, out variable, header: true)
            || TryFamily(lower, "arg_", VariableKind.Arg, out variable, header: false)
            || TryFamily(lower, "cookie_", VariableKind.Cookie, out variable, header: false))
        {
            return true;
        }

        if (scope.IsSet(lower))
        {
            variable = new VariableRef(VariableKind.SetVariable, lower, lower, 0);
            return true;
        }

        // Handler-provided families are read from UserVariables under their full name.
        if (scope.IsDeclared(lower)
            || lower.StartsWith("upstream_http_", StringComparison.Ordinal)
            || lower.StartsWith("upstream_cookie_", StringComparison.Ordinal)
            || lower.StartsWith("upstream_trailer_", StringComparison.Ordinal))
        {
            variable = new VariableRef(VariableKind.Declared, lower, lower, 0);
            return true;
        }

        variable = default;
        return false;
    }

    private static bool TryFamily(string lower, string prefix, VariableKind kind, out VariableRef variable, bool header)
    {
        // nginx accepts a family prefix only with a non-empty suffix ("$http_" alone is unknown).
        if (lower.Length > prefix.Length && lower.StartsWith(prefix, StringComparison.Ordinal))
        {
            var arg = lower[prefix.Length..];
            variable = new VariableRef(kind, lower, header ? arg.Replace('_', '-') : arg, 0);
            return true;
        }

        variable = default;
        return false;
    }

    /// <summary>The value, or null when nginx would say "not found".</summary>
    public string? Get(RequestContext ctx, VariableClock clock)
    {
        var http = ctx.Http;
        switch (Kind)
        {
            case VariableKind.Status: return StatusText(http.Response.StatusCode);
            case VariableKind.BodyBytesSent: return ctx.BodyBytesSent.ToString(CultureInfo.InvariantCulture);
            case VariableKind.GzipRatio: return GzipRatio(ctx);
            case VariableKind.BytesSent: return BytesSent(ctx).ToString(CultureInfo.InvariantCulture);
            case VariableKind.RequestLength: return RequestLength(ctx).ToString(CultureInfo.InvariantCulture);
            case VariableKind.RequestTime: return FormatMillis(RequestTimeMillis(ctx, clock));
            case VariableKind.Msec: return FormatMillis(clock.Time.GetUtcNow().ToUnixTimeMilliseconds());
            case VariableKind.TimeLocal: return clock.Now().TimeLocal;
            case VariableKind.TimeIso8601: return clock.Now().TimeIso8601;
            case VariableKind.Connection: return ctx.ConnectionSerial.ToString(CultureInfo.InvariantCulture);
            case VariableKind.ConnectionRequests: return ctx.ConnectionRequests.ToString(CultureInfo.InvariantCulture);
            case VariableKind.Pid: return Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
            case VariableKind.RemotePort: return ctx.Addresses.RemotePortText;
            case VariableKind.ServerPort: return ctx.Addresses.LocalPortText;
            case VariableKind.RemoteAddr: return ctx.Addresses.RemoteText;
            case VariableKind.RemoteUser: return RemoteUser(http.Request.Headers.Authorization);
            case VariableKind.Request: return RequestLine(ctx);
            // nginx: an internal redirect by X-Accel-Redirect or error_page makes the method GET (except HEAD), and
            // $request_method follows (r->main->method_name).
            case VariableKind.RequestMethod: return ctx.Method;
            case VariableKind.RequestUri: return ctx.RequestUri;
            case VariableKind.Uri: return ctx.Uri;

            // nginx 1.22 reports $args "not found" both for "/x" and "/x?" (checked side by side).
            case VariableKind.Args: return ctx.Args.Length == 0 ? null : ctx.Args;
            case VariableKind.IsArgs: return ctx.Args.Length == 0 ? "" : "?";
            case VariableKind.Host: return ctx.Host;
            case VariableKind.Hostname: return s_hostname.Value;
            case VariableKind.ServerName: return ctx.Server.PrimaryName;
            case VariableKind.ServerAddr: return ctx.Addresses.LocalText;
            case VariableKind.Scheme: return http.Request.Scheme;
            case VariableKind.Https: return http.Request.IsHttps ? "on" : "";
            case VariableKind.ServerProtocol: return Protocol(http.Request.Protocol);
            case VariableKind.DocumentRoot: return DocumentRoot(ctx);
            case VariableKind.RequestFilename: return RequestFilename(ctx);
            // Kestrel's typed property: a field read, not a lookup by name (a param of every PHP request). Content-Length
            // has only a parsed one; the variable is the header as sent.
            case VariableKind.ContentType: return First(http.Request.Headers.ContentType);
            case VariableKind.ContentLength: return First(http.Request.Headers["Content-Length"]);
            case VariableKind.NginxVersion: return Version;
            case VariableKind.RequestId: return RequestId(ctx);
            case VariableKind.HttpHeader: return RequestHeader(http.Request.Headers, Arg!);
            case VariableKind.SentHttpHeader: return SentHeader(http.Response, Arg!);
            case VariableKind.Arg: return Argument(ctx.Args, Arg!);
            case VariableKind.Cookie: return Cookie(http.Request.Headers.Cookie, Arg!);
            case VariableKind.Capture:
                {
                    // A capture the last regex did not have is empty, not an error (ngx_http_script_copy_capture_code).
                    var caps = ctx.Captures;
                    return caps is not null && Index < caps.Length ? caps[Index] ?? "" : "";
                }

            case VariableKind.Declared:
                if (FastCgi.FastCgiVariables.Serves(Arg!))
                {
                    // Computed from the current location and $uri (try_files may read it before the handler runs).
                    return FastCgi.FastCgiVariables.Get(ctx, Arg!);
                }

                if (ctx.Upstream is { } upstream && upstream.Get(Arg!) is { } fromUpstream)
                {
                    return fromUpstream;
                }

                if (ctx.UserVariables is { } user && user.TryGetValue(Arg!, out var v))
                {
                    return v;
                }

                return ctx.NamedCaptures is { } named && named.TryGetValue(Arg!, out var c) ? c : null;
            case VariableKind.SetVariable:
                // ngx_http_rewrite_var: read before any set of it ran, the value is empty (nginx also warns), not
                // "not found": an access log shows "", not "-". A named capture of the same name sets it too.
                if (ctx.UserVariables is { } sets && sets.TryGetValue(Arg!, out var assigned))
                {
                    return assigned;
                }

                return ctx.NamedCaptures is { } captures && captures.TryGetValue(Arg!, out var captured) ? captured : "";
            default:
                throw new UnreachableException();
        }
    }

    /// <summary>
    /// Writes an <see cref="IsAsciiSafe"/> value straight as bytes, without building a string.
    /// Returns false when <paramref name="dest"/> is too small or the kind is not ASCII-safe.
    /// </summary>
    public bool TryFormatAscii(RequestContext ctx, VariableClock clock, Span<byte> dest, out int written)
    {
        var http = ctx.Http;
        switch (Kind)
        {
            case VariableKind.Status:
                {
                    var status = http.Response.StatusCode;
                    return Utf8Formatter.TryFormat(status, dest, out written, new StandardFormat('D', 3));
                }

            case VariableKind.BodyBytesSent: return Utf8Formatter.TryFormat(ctx.BodyBytesSent, dest, out written);
            case VariableKind.BytesSent: return Utf8Formatter.TryFormat(BytesSent(ctx), dest, out written);
            case VariableKind.RequestLength: return Utf8Formatter.TryFormat(RequestLength(ctx), dest, out written);
            case VariableKind.RequestTime: return TryFormatMillis(RequestTimeMillis(ctx, clock), dest, out written);
            case VariableKind.Msec: return TryFormatMillis(clock.Time.GetUtcNow().ToUnixTimeMilliseconds(), dest, out written);
            case VariableKind.TimeLocal: return TryCopy(clock.Now().TimeLocalUtf8, dest, out written);
            case VariableKind.TimeIso8601: return TryCopy(clock.Now().TimeIso8601Utf8, dest, out written);
            case VariableKind.Connection: return Utf8Formatter.TryFormat(ctx.ConnectionSerial, dest, out written);
            case VariableKind.ConnectionRequests: return Utf8Formatter.TryFormat(ctx.ConnectionRequests, dest, out written);
            case VariableKind.Pid: return Utf8Formatter.TryFormat(Environment.ProcessId, dest, out written);
            case VariableKind.RemotePort: return TryCopy(ctx.Addresses.RemotePortUtf8, dest, out written);
            case VariableKind.ServerPort: return TryCopy(ctx.Addresses.LocalPortUtf8, dest, out written);
            case VariableKind.RemoteAddr: return TryCopy(ctx.Addresses.RemoteUtf8, dest, out written);
            case VariableKind.ServerAddr: return TryCopy(ctx.Addresses.LocalUtf8, dest, out written);
            default:
                written = 0;
                return false;
        }
    }

    private static bool TryCopy(byte[] source, Span<byte> dest, out int written)
    {
        if (source.AsSpan().TryCopyTo(dest))
        {
            written = source.Length;
            return true;
        }

        written = 0;
        return false;
    }

    /// <summary>
    /// $gzip_ratio (ngx_http_gzip_ratio_variable): bytes in over bytes out, gzip header and trailer counted, with two
    /// decimals rounded half up; not found for a response that was not compressed.
    /// </summary>
    internal static string? GzipRatio(RequestContext ctx)
    {
        if (ctx.Gzip is not { Compressing: true } gzip || gzip.BytesIn == 0 || gzip.BytesOut == 0)
        {
            return null;
        }

        long zin = gzip.BytesIn, zout = gzip.BytesOut;
        var whole = zin / zout;
        var fraction = zin * 100 / zout % 100;
        if (zin * 1000 / zout % 10 > 4)
        {
            if (++fraction > 99)
            {
                whole++;
                fraction = 0;
            }
        }

        return string.Create(CultureInfo.InvariantCulture, $"{whole}.{fraction:D2}");
    }

    private static string StatusText(int status) => status.ToString("D3", CultureInfo.InvariantCulture);

    private static long RequestTimeMillis(RequestContext ctx, VariableClock clock)
    {
        // nginx clamps a negative difference (clock stepped back) to 0 (ngx_http_variable_request_time).
        var ms = (long)clock.Time.GetElapsedTime(ctx.StartTimestamp).TotalMilliseconds;
        return ms < 0 ? 0 : ms;
    }

    /// <summary>"1795000000.123": seconds with exactly three decimals, as $msec and $request_time print.</summary>
    internal static string FormatMillis(long ms)
    {
        Span<byte> buf = stackalloc byte[32];
        TryFormatMillis(ms, buf, out var n);
        return Encoding.ASCII.GetString(buf[..n]);
    }

    internal static bool TryFormatMillis(long ms, Span<byte> dest, out int written)
    {
        written = 0;
        if (!Utf8Formatter.TryFormat(ms / 1000, dest, out var n) || dest.Length < n + 4)
        {
            return false;
        }

        var frac = (int)(ms % 1000);
        dest[n] = (byte)'.';
        dest[n + 1] = (byte)('0' + (frac / 100));
        dest[n + 2] = (byte)('0' + (frac / 10 % 10));
        dest[n + 3] = (byte)('0' + (frac % 10));
        written = n + 4;
        return true;
    }

    internal static string Protocol(string protocol) => protocol switch
    {
        // nginx prints the version with a minor number for HTTP/2 and HTTP/3.
        "HTTP/2" => "HTTP/2.0",
        "HTTP/3" => "HTTP/3.0",
        _ => protocol,
    };

    private static string? RequestLine(RequestContext ctx)
    {
        var req = ctx.Http.Request;

        // No request line (a request Kestrel rejected before parsing it): "not found", as nginx.
        if (req.Method.Length == 0)
        {
            return null;
        }

        return string.Concat(req.Method, " ", ctx.RequestUri, " ", Protocol(req.Protocol));
    }

    private static string? First(Microsoft.Extensions.Primitives.StringValues values) => values.Count > 0 ? values[0] ?? "" : null;

    private static string? RequestHeader(IHeaderDictionary headers, string name)
    {
        if (!headers.TryGetValue(name, out var values) || values.Count == 0)
        {
            return null;
        }

        if (values.Count == 1)
        {
            return values[0] ?? "";
        }

        // nginx 1.22 joins repeated Cookie lines with "; " and X-Forwarded-For with ", "
        // (ngx_http_variable_cookies / ngx_http_variable_headers); any other header gives its first line.
        if (name.Equals("cookie", StringComparison.Ordinal))
        {
            return string.Join("; ", values.ToArray());
        }

        if (name.Equals("x-forwarded-for", StringComparison.Ordinal))
        {
            return string.Join(", ", values.ToArray());
        }

        return values[0] ?? "";
    }

    private static string? SentHeader(HttpResponse response, string name)
    {
        var headers = response.Headers;
        if (name.Equals("content-length", StringComparison.Ordinal))
        {
            var length = response.ContentLength;
            return length is { } l ? l.ToString(CultureInfo.InvariantCulture) : null;
        }

        if (!headers.TryGetValue(name, out var values) || values.Count == 0)
        {
            return null;
        }

        if (values.Count > 1 && (name.Equals("cache-control", StringComparison.Ordinal) || name.Equals("link", StringComparison.Ordinal)))
        {
            return string.Join("; ", values.ToArray());
        }

        return values[0] ?? "";
    }

    /// <summary>
    /// <c>$arg_NAME</c>: the raw (not %-decoded) value of the first argument whose name matches
    /// case-insensitively and that has an <c>=</c> (ngx_http_arg).
    /// </summary>
    internal static string? Argument(string args, string name)
    {
        var span = args.AsSpan();
        var start = 0;
        while (start <= span.Length)
        {
            var amp = span[start..].IndexOf('&');
            var end = amp < 0 ? span.Length : start + amp;
            var part = span[start..end];
            if (part.Length > name.Length && part[name.Length] == '=' && part[..name.Length].Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return part[(name.Length + 1)..].ToString();
            }

            if (amp < 0)
            {
                break;
            }

            start = end + 1;
        }

        return null;
    }

    /// <summary>
    /// <c>$cookie_NAME</c>: pairs separated by <c>;</c> or <c>,</c>, name matched
    /// case-insensitively, spaces around <c>=</c> skipped, the value runs to the next <c>;</c>
    /// (ngx_http_parse_multi_header_lines).
    /// </summary>
    internal static string? Cookie(StringValues headers, string name)
    {
        foreach (var header in headers)
        {
            if (header is null)
            {
                continue;
            }

            var s = header.AsSpan();
            var i = 0;
            while (i < s.Length)
            {
                while (i < s.Length && s[i] == ' ')
                {
                    i++;
                }

                if (s.Length - i >= name.Length && s.Slice(i, name.Length).Equals(name, StringComparison.OrdinalIgnoreCase))
                {
                    var j = i + name.Length;
                    while (j < s.Length && s[j] == ' ')
                    {
                        j++;
                    }

                    if (j < s.Length && s[j] == '=')
                    {
                        j++;
                        while (j < s.Length && s[j] == ' ')
                        {
                            j++;
                        }

                        var semi = s[j..].IndexOf(';');
                        return (semi < 0 ? s[j..] : s.Slice(j, semi)).ToString();
                    }
                }

                var next = s[i..].IndexOfAny(';', ',');
                if (next < 0)
                {
                    break;
                }

                i += next + 1;
            }
        }

        return null;
    }

    /// <summary><c>$remote_user</c>: the user part of <c>Authorization: Basic</c> (ngx_http_auth_basic_user).</summary>
    internal static string? RemoteUser(StringValues authorization)
    {
        if (authorization.Count == 0 || authorization[0] is not { } value)
        {
            return null;
        }

        var s = value.AsSpan();
        if (s.Length < 6 || !s[..5].Equals("Basic", StringComparison.OrdinalIgnoreCase) || s[5] != ' ')
        {
            return null;
        }

        s = s[6..].Trim(' ');
        Span<byte> decoded = s.Length <= 512 ? stackalloc byte[s.Length] : new byte[s.Length];
        if (!Convert.TryFromBase64Chars(s, decoded, out var n))
        {
            return null;
        }

        var colon = decoded[..n].IndexOf((byte)':');
        return colon < 0 ? null : Encoding.UTF8.GetString(decoded[..colon]);
    }

    private static string? DocumentRoot(RequestContext ctx)
    {
        if (ctx.DocumentRoot is { } root)
        {
            return root;
        }

        var configured = ctx.Settings.Root;
        return configured is null || configured.HasVariables ? null : configured.Text;
    }

    private static string? RequestFilename(RequestContext ctx)
    {
        if (ctx.RequestFilename is { } file)
        {
            return file;
        }

        // Before the content phase maps the URI, nginx computes root + $uri (ngx_http_map_uri_to_path).
        if (ctx.Settings.Alias is null && DocumentRoot(ctx) is { } root)
        {
            return string.Concat(root.TrimEnd('/'), ctx.Uri);
        }

        return null;
    }

    private static string RequestId(RequestContext ctx)
    {
        // 16 random bytes in hex, stable for the request (ngx_http_variable_request_id).
        var user = ctx.UserVariables ??= new Dictionary<string, string>(StringComparer.Ordinal);
        if (!user.TryGetValue("request_id", out var id))
        {
            Span<byte> bytes = stackalloc byte[16];
            RandomNumberGenerator.Fill(bytes);
            id = Convert.ToHexStringLower(bytes);
            user["request_id"] = id;
        }

        return id;
    }

    /// <summary>
    /// Estimate of the response head as Kestrel writes it for HTTP/1.1: status line, one
    /// <c>Name: value</c> line per header value (Kestrel has added Date, Server and
    /// Content-Length / Transfer-Encoding to the collection by the time the log runs), blank line.
    /// </summary>
    internal static long ResponseHeaderLength(HttpResponse response)
    {
        var status = response.StatusCode;
        var reason = ReasonPhrases.GetReasonPhrase(status);
        long length = "HTTP/1.1 ".Length + 3 + 1 + reason.Length + 2;
        foreach (var header in response.Headers)
        {
            foreach (var value in header.Value)
            {
                length += header.Key.Length + 2 + (value?.Length ?? 0) + 2;
            }
        }

        return length + 2;
    }

    internal static long BytesSent(RequestContext ctx) => ResponseHeaderLength(ctx.Http.Response) + ctx.BodyBytesSent;

    /// <summary>
    /// <c>$request_length</c>: request line, header lines and body, as received. The body counts
    /// its Content-Length (a chunked body's framing is not known to the application).
    /// </summary>
    internal static long RequestLength(RequestContext ctx)
    {
        var req = ctx.Http.Request;
        long length = req.Method.Length + 1 + ctx.RequestUri.Length + 1 + req.Protocol.Length + 2;
        foreach (var header in req.Headers)
        {
            foreach (var value in header.Value)
            {
                length += header.Key.Length + 2 + (value?.Length ?? 0) + 2;
            }
        }

        return length + 2 + (req.ContentLength ?? 0);
    }

    private static string ReadVersion()
    {
        var info = typeof(VariableRef).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion;
        if (string.IsNullOrEmpty(info))
        {
            return typeof(VariableRef).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
        }

        var plus = info.IndexOf('+', StringComparison.Ordinal);
        return plus < 0 ? info : info[..plus];
    }
}
