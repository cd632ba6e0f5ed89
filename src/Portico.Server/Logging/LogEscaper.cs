using System.Buffers;
using System.Text;

namespace Portico.Server.Logging;

/// <summary>
/// The three <c>log_format escape=</c> modes, byte for byte as nginx writes them
/// (https://nginx.org/en/docs/http/ngx_http_log_module.html#log_format).
/// </summary>
internal static class LogEscaper
{
    private static readonly byte[] s_hex = "0123456789ABCDEF"u8.ToArray();

    // default: '"', '\', bytes < 0x20 and >= 0x7f become \xHH (ngx_http_log_escape).
    private static readonly SearchValues<char> s_defaultSafe = SearchValues.Create(BuildSafe(json: false));

    // json: '"', '\' and bytes < 0x20 are escaped; DEL and non-ASCII pass (ngx_escape_json).
    private static readonly SearchValues<char> s_jsonSafe = SearchValues.Create(BuildSafe(json: true));

    private static string BuildSafe(bool json)
    {
        var sb = new StringBuilder();
        for (var c = 0x20; c < (json ? 0x80 : 0x7f); c++)
        {
            if (c is not '"' and not '\\')
            {
                sb.Append((char)c);
            }
        }

        return sb.ToString();
    }

    /// <summary>Writes <paramref name="value"/> as UTF-8 with the mode's escaping.</summary>
    public static void Write(string value, Config.Model.LogEscape mode, IBufferWriter<byte> writer)
    {
        if (value.Length == 0)
        {
            return;
        }

        var safe = mode == Config.Model.LogEscape.Json ? s_jsonSafe : s_defaultSafe;
        if (mode == Config.Model.LogEscape.None || !value.AsSpan().ContainsAnyExcept(safe))
        {
            // Fast path: nothing to escape; transcode straight into the line buffer.
            var max = Encoding.UTF8.GetMaxByteCount(value.Length);
            var span = writer.GetSpan(max);
            var n = Encoding.UTF8.GetBytes(value, span);
            writer.Advance(n);
            return;
        }

        // Lone surrogates become U+FFFD here (the encoder's replacement), so the bytes are valid UTF-8.
        var count = Encoding.UTF8.GetByteCount(value);
        var rented = ArrayPool<byte>.Shared.Rent(count);
        try
        {
            var n = Encoding.UTF8.GetBytes(value, rented);
            if (mode == Config.Model.LogEscape.Json)
            {
                EscapeJson(rented.AsSpan(0, n), writer);
            }
            else
            {
                EscapeDefault(rented.AsSpan(0, n), writer);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>escape=default on bytes: <c>"</c>, <c>\</c>, bytes &lt; 0x20 and &gt;= 0x7f as <c>\xHH</c> (upper-case hex).</summary>
    public static void EscapeDefault(ReadOnlySpan<byte> src, IBufferWriter<byte> writer)
    {
        var dest = writer.GetSpan(src.Length * 4);
        var d = 0;
        foreach (var b in src)
        {
            if (b < 0x20 || b >= 0x7f || b == (byte)'"' || b == (byte)'\\')
            {
                dest[d++] = (byte)'\\';
                dest[d++] = (byte)'x';
                dest[d++] = s_hex[b >> 4];
                dest[d++] = s_hex[b & 0xf];
            }
            else
            {
                dest[d++] = b;
            }
        }

        writer.Advance(d);
    }

    /// <summary>
    /// escape=json on bytes, as ngx_escape_json: <c>\"</c>, <c>\\</c>, <c>\n \r \t \b \f</c>, other
    /// control bytes <c>\u00XX</c>. Unlike nginx (which copies bytes &gt;= 0x80 blindly), a byte that
    /// is not part of a well-formed UTF-8 sequence is written as <c>\u00XX</c> of that byte, so the
    /// line is always valid JSON and the original byte stays recoverable.
    /// </summary>
    public static void EscapeJson(ReadOnlySpan<byte> src, IBufferWriter<byte> writer)
    {
        var dest = writer.GetSpan(src.Length * 6);
        var d = 0;
        var i = 0;
        while (i < src.Length)
        {
            var b = src[i];
            if (b >= 0x80)
            {
                if (Rune.DecodeFromUtf8(src[i..], out _, out var consumed) == OperationStatus.Done)
                {
                    src.Slice(i, consumed).CopyTo(dest[d..]);
                    d += consumed;
                    i += consumed;
                }
                else
                {
                    d += WriteU00(dest[d..], b);
                    i++;
                }

                continue;
            }

            i++;
            if (b > 0x1f)
            {
                if (b is (byte)'"' or (byte)'\\')
                {
                    dest[d++] = (byte)'\\';
                }

                dest[d++] = b;
                continue;
            }

            switch (b)
            {
                case (byte)'\n': dest[d++] = (byte)'\\'; dest[d++] = (byte)'n'; break;
                case (byte)'\r': dest[d++] = (byte)'\\'; dest[d++] = (byte)'r'; break;
                case (byte)'\t': dest[d++] = (byte)'\\'; dest[d++] = (byte)'t'; break;
                case (byte)'\b': dest[d++] = (byte)'\\'; dest[d++] = (byte)'b'; break;
                case (byte)'\f': dest[d++] = (byte)'\\'; dest[d++] = (byte)'f'; break;
                default: d += WriteU00(dest[d..], b); break;
            }
        }

        writer.Advance(d);
    }

    private static int WriteU00(Span<byte> dest, byte b)
    {
        dest[0] = (byte)'\\';
        dest[1] = (byte)'u';
        dest[2] = (byte)'0';
        dest[3] = (byte)'0';
        dest[4] = s_hex[b >> 4];
        dest[5] = s_hex[b & 0xf];
        return 6;
    }
}
