using System.Buffers;
using System.Globalization;
using System.Text;
using Microsoft.AspNetCore.Http;
using Portico.Config.Model;

namespace Portico.Server.Static;

/// <summary>Per-request inputs of <see cref="AutoindexResponder.SendAsync"/>.</summary>
/// <param name="Args">The current <c>$args</c> (for the JSONP <c>callback</c>); null reads the request's query string.</param>
internal readonly record struct AutoindexOptions(
    AutoindexFormat Format = AutoindexFormat.Html,
    bool ExactSize = true,
    bool Localtime = false,
    bool IsHead = false,
    string? Args = null)
{
    public static AutoindexOptions From(LocationSettings settings, bool isHead, string? args = null) =>
        new(settings.AutoindexFormat, settings.AutoindexExactSize, settings.AutoindexLocaltime, isHead, args);
}

/// <summary>
/// Directory listings byte for byte as nginx 1.22's ngx_http_autoindex_module writes them
/// (https://nginx.org/en/docs/http/ngx_http_autoindex_module.html). Names are handled as bytes:
/// without a <c>charset utf-8</c> (which Portico does not support) nginx measures, pads and
/// truncates names in bytes, and may cut a multi-byte character in two; we do the same.
/// </summary>
internal sealed class AutoindexResponder
{
    private const int NameLength = 50; // NGX_HTTP_AUTOINDEX_NAME_LEN

    private static readonly string[] s_months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

    // ngx_escape_uri's NGX_ESCAPE_URI_COMPONENT table: bit set = percent-encode that byte.
    private static readonly uint[] s_uriComponent =
    [
        0xffffffff, 0xfc009fff, 0x78000001, 0xb8000001,
        0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
    ];

    private static readonly byte[] s_hex = "0123456789ABCDEF"u8.ToArray();
    private static readonly byte[] s_hexLower = "0123456789abcdef"u8.ToArray();

    private readonly TimeProvider _time;

    public AutoindexResponder(TimeProvider time) => _time = time;

    /// <summary>
    /// Lists <paramref name="directoryPath"/> for the request URI <paramref name="uri"/> (which
    /// ends in '/'; nginx's autoindex declines other URIs). Errors are returned with
    /// <see cref="StaticSendResult.ResponseSent"/> false: 404 missing, 403 unreadable, 400 bad
    /// JSONP callback, 500 otherwise.
    /// </summary>
    public async ValueTask<StaticSendResult> SendAsync(HttpContext http, string directoryPath, string uri, AutoindexOptions options, CancellationToken cancellationToken)
    {
        AutoindexFormat format = options.Format;
        string? callback = null;
        if (format == AutoindexFormat.Jsonp)
        {
            string args = options.Args ?? (http.Request.QueryString.HasValue ? http.Request.QueryString.Value![1..] : "");
            if (!TryGetCallback(args, out callback))
            {
                http.Response.StatusCode = StatusCodes.Status400BadRequest;
                return new StaticSendResult(400, 0, false);
            }

            if (callback.Length == 0)
            {
                format = AutoindexFormat.Json; // nginx: jsonp without a callback is plain json
            }
        }

        List<Entry> entries;
        try
        {
            entries = ReadEntries(directoryPath);
        }
        catch (UnauthorizedAccessException)
        {
            http.Response.StatusCode = StatusCodes.Status403Forbidden;
            return new StaticSendResult(403, 0, false);
        }
        catch (Exception e) when (e is DirectoryNotFoundException or FileNotFoundException or PathTooLongException)
        {
            http.Response.StatusCode = StatusCodes.Status404NotFound;
            return new StaticSendResult(404, 0, false);
        }
        catch (IOException)
        {
            http.Response.StatusCode = StatusCodes.Status500InternalServerError;
            return new StaticSendResult(500, 0, false);
        }

        // ngx_http_autoindex_cmp_entries: directories first, then strcmp() of the raw names.
        entries.Sort(static (a, b) =>
        {
            if (a.IsDirectory != b.IsDirectory)
            {
                return a.IsDirectory ? -1 : 1;
            }

            return a.Name.AsSpan().SequenceCompareTo(b.Name);
        });

        var buffer = new ArrayBufferWriter<byte>(1024 + entries.Count * 160);
        string contentType;
        switch (format)
        {
            case AutoindexFormat.Json:
                contentType = "application/json";
                WriteJson(buffer, entries);
                break;
            case AutoindexFormat.Jsonp:
                contentType = "application/javascript";
                Ascii(buffer, "/* callback */\r\n");
                Ascii(buffer, callback!);
                Ascii(buffer, "(");
                WriteJson(buffer, entries);
                Ascii(buffer, ");");
                break;
            case AutoindexFormat.Xml:
                contentType = "text/xml; charset=utf-8";
                WriteXml(buffer, entries);
                break;
            default:
                contentType = "text/html";
                WriteHtml(buffer, entries, uri, options);
                break;
        }

        HttpResponse response = http.Response;
        response.StatusCode = StatusCodes.Status200OK;
        response.Headers.ContentType = contentType;

        // nginx streams the listing without Content-Length (chunked on HTTP/1.1); so do we.
        if (options.IsHead)
        {
            return new StaticSendResult(200, 0, true);
        }

        await response.Body.WriteAsync(buffer.WrittenMemory, cancellationToken);
        return new StaticSendResult(200, buffer.WrittenCount, true);
    }

    private static List<Entry> ReadEntries(string directoryPath)
    {
        var options = new EnumerationOptions
        {
            AttributesToSkip = 0,
            IgnoreInaccessible = false,
            RecurseSubdirectories = false,
            ReturnSpecialDirectories = false,
        };

        var entries = new List<Entry>();
        foreach (FileSystemInfo item in new DirectoryInfo(directoryPath).EnumerateFileSystemInfos("*", options))
        {
            string name = item.Name;
            if (name.StartsWith('.'))
            {
                continue; // nginx skips every dot file, "." and ".." included
            }

            FileSystemInfo info = item;
            if ((item.Attributes & FileAttributes.ReparsePoint) != 0)
            {
                // nginx stat()s entries (following links) and falls back to lstat() for dangling ones.
                try
                {
                    FileSystemInfo? target = item.ResolveLinkTarget(returnFinalTarget: true);
                    if (target is not null && (int)target.Attributes != -1)
                    {
                        info = target;
                    }
                }
                catch (IOException)
                {
                }
                catch (UnauthorizedAccessException)
                {
                    continue; // nginx skips entries it may not stat (EACCES)
                }
            }

            bool isDirectory = (info.Attributes & FileAttributes.Directory) != 0;
            long size = !isDirectory && info is FileInfo file ? file.Length : 0;
            long mtime = info.LastWriteTimeUtc.Ticks;
            entries.Add(new Entry(Encoding.UTF8.GetBytes(name), isDirectory, size, (mtime - DateTime.UnixEpoch.Ticks) / TimeSpan.TicksPerSecond));
        }

        return entries;
    }

    private void WriteHtml(ArrayBufferWriter<byte> b, List<Entry> entries, string uri, AutoindexOptions options)
    {
        byte[] escapedUri = EscapeHtml(Encoding.UTF8.GetBytes(uri));
        Ascii(b, "<html>\r\n<head><title>Index of ");
        b.Write(escapedUri);
        Ascii(b, "</title></head>\r\n<body>\r\n<h1>Index of ");
        b.Write(escapedUri);
        Ascii(b, "</h1><hr><pre><a href=\"../\">../</a>\r\n");

        // nginx applies the current UTC offset (tp->gmtoff) to every entry.
        long offset = options.Localtime ? (long)_time.LocalTimeZone.GetUtcOffset(_time.GetUtcNow()).TotalSeconds : 0;

        foreach (Entry entry in entries)
        {
            byte[] name = entry.Name;
            Ascii(b, "<a href=\"");
            EscapeUri(b, name);
            if (entry.IsDirectory)
            {
                Ascii(b, "/");
            }

            Ascii(b, "\">");

            int len = name.Length;
            int shown = len > NameLength ? NameLength - 3 : len;
            b.Write(EscapeHtml(name.AsSpan(0, shown)));

            if (len > NameLength)
            {
                Ascii(b, "..&gt;</a>");
            }
            else
            {
                if (entry.IsDirectory && NameLength - len > 0)
                {
                    Ascii(b, "/");
                    len++;
                }

                Ascii(b, "</a>");
                Spaces(b, NameLength - len);
            }

            Ascii(b, " ");
            DateTime time = DateTime.UnixEpoch.AddSeconds(entry.Mtime + offset);
            Ascii(b, string.Create(CultureInfo.InvariantCulture, $"{time.Day:00}-{s_months[time.Month - 1]}-{time.Year} {time.Hour:00}:{time.Minute:00} "));

            if (options.ExactSize)
            {
                Ascii(b, entry.IsDirectory ? "                  -" : entry.Size.ToString(CultureInfo.InvariantCulture).PadLeft(19));
            }
            else if (entry.IsDirectory)
            {
                Ascii(b, "      -");
            }
            else
            {
                Ascii(b, HumanSize(entry.Size));
            }

            Ascii(b, "\r\n");
        }

        Ascii(b, "</pre><hr></body>\r\n</html>\r\n");
    }

    /// <summary>autoindex_exact_size off: nginx rounds to K/M/G (1024-based, half up) in a 7-wide column.</summary>
    internal static string HumanSize(long length)
    {
        const long K = 1024, M = 1024 * 1024, G = 1024 * 1024 * 1024;
        long size;
        char scale;
        if (length > G - 1)
        {
            size = length / G + (length % G > G / 2 - 1 ? 1 : 0);
            scale = 'G';
        }
        else if (length > M - 1)
        {
            size = length / M + (length % M > M / 2 - 1 ? 1 : 0);
            scale = 'M';
        }
        else if (length > 9999)
        {
            size = length / K + (length % K > 511 ? 1 : 0);
            scale = 'K';
        }
        else
        {
            return " " + length.ToString(CultureInfo.InvariantCulture).PadLeft(6);
        }

        return size.ToString(CultureInfo.InvariantCulture).PadLeft(6) + scale;
    }

    private static void WriteJson(ArrayBufferWriter<byte> b, List<Entry> entries)
    {
        Ascii(b, "[\r\n");
        for (int i = 0; i < entries.Count; i++)
        {
            Entry entry = entries[i];
            if (i > 0)
            {
                Ascii(b, ",\r\n");
            }

            Ascii(b, "{ \"name\":\"");
            EscapeJson(b, entry.Name);
            Ascii(b, entry.IsDirectory ? "\", \"type\":\"directory\", \"mtime\":\"" : "\", \"type\":\"file\", \"mtime\":\"");
            Ascii(b, HttpDate.Format(entry.Mtime));
            Ascii(b, "\"");
            if (!entry.IsDirectory)
            {
                Ascii(b, ", \"size\":");
                Ascii(b, entry.Size.ToString(CultureInfo.InvariantCulture));
            }

            Ascii(b, " }");
        }

        Ascii(b, "\r\n]");
    }

    private static void WriteXml(ArrayBufferWriter<byte> b, List<Entry> entries)
    {
        Ascii(b, "<?xml version=\"1.0\"?>\r\n<list>\r\n");
        foreach (Entry entry in entries)
        {
            string tag = entry.IsDirectory ? "directory" : "file";
            DateTime time = DateTime.UnixEpoch.AddSeconds(entry.Mtime);
            Ascii(b, "<" + tag + string.Create(CultureInfo.InvariantCulture, $" mtime=\"{time:yyyy-MM-ddTHH:mm:ss}Z\""));
            if (!entry.IsDirectory)
            {
                Ascii(b, " size=\"" + entry.Size.ToString(CultureInfo.InvariantCulture) + "\"");
            }

            Ascii(b, ">");
            b.Write(EscapeHtml(entry.Name));
            Ascii(b, "</" + tag + ">\r\n");
        }

        Ascii(b, "</list>\r\n");
    }

    /// <summary>
    /// ngx_http_autoindex_jsonp_callback: the raw (undecoded) <c>callback</c> argument, at most
    /// 128 bytes of letters, digits, '_' and '.'; anything else is a 400.
    /// </summary>
    internal static bool TryGetCallback(string args, out string callback)
    {
        callback = "";
        int p = 0;
        while (p < args.Length)
        {
            int found = args.IndexOf("callback", p, StringComparison.OrdinalIgnoreCase);
            if (found < 0)
            {
                return true;
            }

            if ((found == 0 || args[found - 1] == '&') && found + 8 < args.Length && args[found + 8] == '=')
            {
                int start = found + 9;
                int amp = args.IndexOf('&', start);
                callback = amp < 0 ? args[start..] : args[start..amp];
                break;
            }

            p = found + 1;
        }

        if (callback.Length > 128)
        {
            return false;
        }

        foreach (char ch in callback)
        {
            char c = (char)(ch | 0x20);
            if (c is >= 'a' and <= 'z' || ch is >= '0' and <= '9' or '_' or '.')
            {
                continue;
            }

            return false;
        }

        return true;
    }

    /// <summary>ngx_escape_html: only &lt; &gt; &amp; and the double quote are replaced.</summary>
    internal static byte[] EscapeHtml(ReadOnlySpan<byte> source)
    {
        var output = new List<byte>(source.Length + 16);
        foreach (byte c in source)
        {
            switch (c)
            {
                case (byte)'<':
                    output.AddRange("&lt;"u8);
                    break;
                case (byte)'>':
                    output.AddRange("&gt;"u8);
                    break;
                case (byte)'&':
                    output.AddRange("&amp;"u8);
                    break;
                case (byte)'"':
                    output.AddRange("&quot;"u8);
                    break;
                default:
                    output.Add(c);
                    break;
            }
        }

        return [.. output];
    }

    /// <summary>ngx_escape_uri(NGX_ESCAPE_URI_COMPONENT) with upper-case hex.</summary>
    internal static void EscapeUri(IBufferWriter<byte> b, ReadOnlySpan<byte> source)
    {
        foreach (byte c in source)
        {
            if ((s_uriComponent[c >> 5] & (1u << (c & 0x1f))) != 0)
            {
                Span<byte> escaped = b.GetSpan(3);
                escaped[0] = (byte)'%';
                escaped[1] = s_hex[c >> 4];
                escaped[2] = s_hex[c & 0xf];
                b.Advance(3);
            }
            else
            {
                b.GetSpan(1)[0] = c;
                b.Advance(1);
            }
        }
    }

    /// <summary>ngx_escape_json: backslash before '"' and '\', control bytes as \n-style or \u00XX.</summary>
    internal static void EscapeJson(IBufferWriter<byte> b, ReadOnlySpan<byte> source)
    {
        foreach (byte c in source)
        {
            if (c > 0x1f)
            {
                if (c is (byte)'\\' or (byte)'"')
                {
                    Ascii(b, "\\");
                }

                b.GetSpan(1)[0] = c;
                b.Advance(1);
                continue;
            }

            switch (c)
            {
                case (byte)'\n':
                    Ascii(b, "\\n");
                    break;
                case (byte)'\r':
                    Ascii(b, "\\r");
                    break;
                case (byte)'\t':
                    Ascii(b, "\\t");
                    break;
                case (byte)'\b':
                    Ascii(b, "\\b");
                    break;
                case (byte)'\f':
                    Ascii(b, "\\f");
                    break;
                default:
                    Span<byte> u = b.GetSpan(6);
                    "\\u00"u8.CopyTo(u);
                    u[4] = s_hexLower[c >> 4];
                    u[5] = s_hexLower[c & 0xf];
                    b.Advance(6);
                    break;
            }
        }
    }

    private static void Ascii(IBufferWriter<byte> b, string text)
    {
        Span<byte> span = b.GetSpan(text.Length);
        int n = Encoding.UTF8.GetBytes(text, span);
        b.Advance(n);
    }

    private static void Spaces(IBufferWriter<byte> b, int count)
    {
        if (count <= 0)
        {
            return;
        }

        b.GetSpan(count)[..count].Fill((byte)' ');
        b.Advance(count);
    }

    private sealed record Entry(byte[] Name, bool IsDirectory, long Size, long Mtime);
}
