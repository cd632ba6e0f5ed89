using Microsoft.Extensions.Primitives;

namespace Portico.Server.Phases;

/// <summary>
/// A token in a comma-separated header list (RFC 9110 §5.6.1), compared without regard to case, with any
/// <c>=value</c> ignored: <c>close</c> in Connection, <c>no-cache</c> in Cache-Control (ngx_http_parse_multi_header_lines).
/// </summary>
internal static class HeaderTokens
{
    public static bool Contains(StringValues values, string token)
    {
        foreach (var value in values)
        {
            foreach (var part in (value ?? "").Split(','))
            {
                var item = part.AsSpan().Trim();
                var eq = item.IndexOf('=');
                if ((eq < 0 ? item : item[..eq].TrimEnd()).Equals(token, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
        }

        return false;
    }
}
