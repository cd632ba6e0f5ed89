using Portico.Config.Model;
using Portico.Server.Variables;

namespace Portico.Server.Phases;

/// <summary>
/// Compiles settings and rewrite instructions of one config snapshot. Settings objects shared
/// by several locations (inherited unchanged) are compiled once.
/// </summary>
internal sealed class SettingsCompiler
{
    private readonly Dictionary<LocationSettings, CompiledSettings> _cache = new(ReferenceEqualityComparer.Instance);

    public SettingsCompiler(VariableScope scope) => Scope = scope;

    public VariableScope Scope { get; }

    /// <summary>Some level compiled so far has <c>gzip</c> or <c>gzip_static</c> on: requests then write through
    /// <see cref="Compression.GzipResponseBody"/>.</summary>
    public bool UsesGzip { get; private set; }

    public CompiledSettings Compile(LocationSettings settings)
    {
        if (_cache.TryGetValue(settings, out var compiled))
        {
            return compiled;
        }

        var errorPages = new Dictionary<int, CompiledErrorPage>();
        foreach (var page in settings.ErrorPages)
        {
            var uri = Compile(page.Uri);
            foreach (var code in page.Codes)
            {
                // Like nginx, the first error_page naming a code wins.
                errorPages.TryAdd(code, new CompiledErrorPage(page, uri));
            }
        }

        compiled = new CompiledSettings
        {
            Source = settings,
            Root = Compile(settings.Root),
            Alias = settings.Alias is null ? null : Compile(settings.Alias),
            Index = settings.Index.Select(Compile).ToArray(),
            TryFiles = settings.TryFiles?.Files.Select(Compile).ToArray(),
            TryFilesFallback = settings.TryFiles is null ? null : Compile(settings.TryFiles.Fallback),
            ErrorPages = errorPages,
            AddHeaders = settings.AddHeaders.Select(h => new CompiledHeader(h.Name, Compile(h.Value), h.Always)).ToArray(),
            MimeTypes = Static.MimeTypes.For(settings),
            ServerHeader = settings.ServerTokens == ServerTokens.Off ? ServerInfo.Name : ServerInfo.NameAndVersion,
            ErrorPageSignature = settings.ServerTokens == ServerTokens.Off ? ServerInfo.Name : ServerInfo.NameAndVersion,
            GzipDisable = [.. settings.Gzip.DisableRegexes.Select(p => new System.Text.RegularExpressions.Regex(p,
                System.Text.RegularExpressions.RegexOptions.IgnoreCase | System.Text.RegularExpressions.RegexOptions.CultureInvariant))],
        };
        UsesGzip |= settings.Gzip.Enabled || settings.Gzip.Static != GzipStaticMode.Off;
        _cache.Add(settings, compiled);
        return compiled;
    }

    public IReadOnlyList<CompiledRewrite> CompileRewrites(IReadOnlyList<RewriteInstruction> instructions)
    {
        if (instructions.Count == 0)
        {
            return [];
        }

        var result = new List<CompiledRewrite>(instructions.Count);
        foreach (var instruction in instructions)
        {
            switch (instruction)
            {
                case ReturnInstruction ret:
                    result.Add(new CompiledReturn(ret.Code, ret.Text is null ? null : Compile(ret.Text)));
                    break;
                case SetInstruction set:
                    result.Add(new CompiledSet(set.Name, Compile(set.Value)));
                    break;
                default:
                    throw new Portico.Config.ConfigException($"unsupported rewrite instruction {instruction.GetType().Name}", instruction.Where);
            }
        }

        return result;
    }

    public CompiledValue Compile(ConfigValue value) => CompiledValue.Compile(value, Scope);
}
