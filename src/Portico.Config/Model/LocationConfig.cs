namespace Portico.Config.Model;

/// <summary>The location modifiers, see https://nginx.org/en/docs/http/ngx_http_core_module.html#location</summary>
public enum LocationMatch
{
    /// <summary><c>location /prefix</c>: longest prefix wins, regexes may still override.</summary>
    Prefix,

    /// <summary><c>location = /exact</c>: stops the search.</summary>
    Exact,

    /// <summary><c>location ^~ /prefix</c>: if it is the longest prefix, regexes are not checked.</summary>
    PrefixNoRegex,

    /// <summary><c>location ~ regex</c> (case-sensitive).</summary>
    Regex,

    /// <summary><c>location ~* regex</c> (case-insensitive).</summary>
    RegexCaseInsensitive,

    /// <summary><c>location @name</c>: only reached by internal redirect.</summary>
    Named,
}

/// <summary>A <c>location { }</c> block; nested locations are in <see cref="Locations"/>.</summary>
public sealed class LocationConfig
{
    public required LocationMatch Match { get; init; }

    /// <summary>The URI prefix, exact URI, regex source (translated to .NET syntax), or the name with its <c>@</c>.</summary>
    public required string Pattern { get; init; }

    public required IReadOnlyList<LocationConfig> Locations { get; init; }

    /// <summary>Rewrite-module instructions of this location (not inherited, as in nginx).</summary>
    public required IReadOnlyList<RewriteInstruction> Rewrites { get; init; }

    /// <summary>Effective settings after merging from server and enclosing locations.</summary>
    public required LocationSettings Settings { get; init; }

    public required SourceLocation Where { get; init; }
}
