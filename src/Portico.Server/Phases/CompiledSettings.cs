using Portico.Config.Model;
using Portico.Server.Variables;

namespace Portico.Server.Phases;

/// <summary>
/// A <see cref="LocationSettings"/> with every variable-bearing value compiled once at load.
/// Shared by all locations that inherit the same settings object.
/// </summary>
internal sealed class CompiledSettings
{
    public required LocationSettings Source { get; init; }

    public required CompiledValue Root { get; init; }

    public CompiledValue? Alias { get; init; }

    public required CompiledValue[] Index { get; init; }

    public CompiledValue[]? TryFiles { get; init; }

    public CompiledValue? TryFilesFallback { get; init; }

    /// <summary>error_page targets by status code.</summary>
    public required IReadOnlyDictionary<int, CompiledErrorPage> ErrorPages { get; init; }

    public required CompiledHeader[] AddHeaders { get; init; }

    /// <summary>Content types from <c>types</c>/<c>default_type</c>, resolved by extension.</summary>
    public required Static.MimeTypes MimeTypes { get; init; }

    /// <summary>The <c>Server</c> header value (server_tokens).</summary>
    public required string ServerHeader { get; init; }

    /// <summary><c>gzip_disable</c>'s regexes, matched against User-Agent without regard to case.</summary>
    public required System.Text.RegularExpressions.Regex[] GzipDisable { get; init; }

    /// <summary>The signature in built-in error pages (<c>&lt;hr&gt;&lt;center&gt;...&lt;/center&gt;</c>).</summary>
    public required string ErrorPageSignature { get; init; }
}

internal sealed record CompiledErrorPage(ErrorPageConfig Config, CompiledValue Uri);

internal sealed record CompiledHeader(string Name, CompiledValue Value, bool Always);

/// <summary>A compiled rewrite-module instruction.</summary>
internal abstract record CompiledRewrite;

internal sealed record CompiledReturn(int Code, CompiledValue? Text) : CompiledRewrite;

/// <summary><c>set $Name VALUE</c>: the value becomes <see cref="Name"/> (lower case) in the request's user variables.</summary>
internal sealed record CompiledSet(string Name, CompiledValue Value) : CompiledRewrite;
