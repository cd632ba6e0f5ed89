using System.Runtime.CompilerServices;
using Portico.Config.Model;

namespace Portico.Server.Static;

/// <summary>
/// The <c>types { }</c> map and <c>default_type</c> of one location, resolved as nginx does
/// (ngx_http_set_exten / ngx_http_set_content_type): the extension is what follows the last dot
/// of the URI's last segment, unless that dot starts the segment; it is lower-cased (ASCII only)
/// and looked up; no extension or no match gives <c>default_type</c>.
/// </summary>
internal sealed class MimeTypes
{
    private static readonly ConditionalWeakTable<LocationSettings, MimeTypes> s_perSettings = new();

    private readonly Dictionary<string, string> _types;
    private readonly Dictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> _lookup;

    public MimeTypes(IReadOnlyDictionary<string, string> types, string defaultType)
    {
        _types = new Dictionary<string, string>(types.Count, StringComparer.Ordinal);
        foreach (KeyValuePair<string, string> pair in types)
        {
            _types[AsciiLower(pair.Key)] = pair.Value;
        }

        _lookup = _types.GetAlternateLookup<ReadOnlySpan<char>>();
        DefaultType = defaultType;
    }

    public string DefaultType { get; }

    /// <summary>The compiled map for a settings object, built once per settings instance (i.e. per config load).</summary>
    public static MimeTypes For(LocationSettings settings) =>
        s_perSettings.GetValue(settings, static s => new MimeTypes(s.Types, s.DefaultType));

    /// <summary>Content type for a URI (<c>$uri</c>, not the file path: nginx uses r->uri).</summary>
    public string Resolve(ReadOnlySpan<char> uri)
    {
        ReadOnlySpan<char> extension = GetExtension(uri, out bool found);
        if (!found || extension.IsEmpty)
        {
            return DefaultType;
        }

        if (extension.Length <= 32)
        {
            Span<char> lower = stackalloc char[extension.Length];
            for (int i = 0; i < extension.Length; i++)
            {
                char c = extension[i];
                lower[i] = c is >= 'A' and <= 'Z' ? (char)(c | 0x20) : c;
            }

            return _lookup.TryGetValue(lower, out string? type) ? type : DefaultType;
        }

        return _types.TryGetValue(AsciiLower(extension.ToString()), out string? longType) ? longType : DefaultType;
    }

    /// <summary>
    /// nginx's ngx_http_set_exten: scan back from the end; a '.' not preceded by '/' starts the
    /// extension, a '/' ends the search. Like nginx, the first two characters are never examined.
    /// </summary>
    public static ReadOnlySpan<char> GetExtension(ReadOnlySpan<char> uri, out bool found)
    {
        for (int i = uri.Length - 1; i > 1; i--)
        {
            if (uri[i] == '.' && uri[i - 1] != '/')
            {
                found = true;
                return uri[(i + 1)..];
            }

            if (uri[i] == '/')
            {
                break;
            }
        }

        found = false;
        return default;
    }

    private static string AsciiLower(string value)
    {
        foreach (char c in value)
        {
            if (c is >= 'A' and <= 'Z')
            {
                return string.Create(value.Length, value, static (span, v) =>
                {
                    for (int i = 0; i < v.Length; i++)
                    {
                        char ch = v[i];
                        span[i] = ch is >= 'A' and <= 'Z' ? (char)(ch | 0x20) : ch;
                    }
                });
            }
        }

        return value;
    }
}
