using System.Reflection;

namespace Portico.Config.Syntax;

internal readonly record struct IncludedFile(string Path, string Text);

/// <summary>
/// Resolves <c>include PATTERN</c> as nginx does (https://nginx.org/en/docs/ngx_core_module.html#include):
/// relative patterns are relative to the directory of the main configuration file (nginx's conf
/// prefix); a pattern with <c>*</c>, <c>?</c> or <c>[</c> is a glob and may match nothing; a plain path
/// must exist. Every file read is recorded in order for <c>-T</c>.
/// </summary>
internal sealed class IncludeResolver
{
    /// <summary>Files we ship in <c>conf/</c> and embed, see <see cref="Resolve"/>.</summary>
    private static readonly string[] s_embedded = ["mime.types", "fastcgi_params", "fastcgi.conf"];

    private readonly string _confDirectory;
    private readonly List<ConfigSourceFile> _files;
    private readonly HashSet<string> _active = new(StringComparer.Ordinal);

    public IncludeResolver(string confDirectory, List<ConfigSourceFile> files)
    {
        _confDirectory = confDirectory;
        _files = files;
    }

    /// <summary>Marks the main file as being read so that including it again is caught.</summary>
    public void Enter(string path) => _active.Add(path);

    public void Leave(string path) => _active.Remove(path);

    public IEnumerable<IncludedFile> Resolve(string pattern, SourceLocation where)
    {
        string full = Path.IsPathRooted(pattern) ? pattern : Path.Join(_confDirectory, pattern);
        if (Glob.HasWildcards(full))
        {
            foreach (string path in Glob.Expand(full))
            {
                yield return Read(path, where);
            }

            yield break;
        }

        if (!File.Exists(full))
        {
            // Deliberate difference from nginx: a relative include of exactly one of the files
            // nginx installs next to nginx.conf falls back to our embedded copy, so a config
            // written for a stock nginx layout loads without copying those files around.
            if (!Path.IsPathRooted(pattern) && Array.IndexOf(s_embedded, pattern) >= 0)
            {
                string name = "embedded:" + pattern;
                if (!_active.Add(name))
                {
                    throw new ConfigException($"recursive include of \"{name}\"", where);
                }

                string text = ReadEmbedded(pattern);
                _files.Add(new ConfigSourceFile(name, text));
                yield return new IncludedFile(name, text);
                yield break;
            }

            throw new ConfigException($"open() \"{full}\" failed (2: No such file or directory)", where);
        }

        yield return Read(full, where);
    }

    private IncludedFile Read(string path, SourceLocation where)
    {
        // nginx has no guard and would recurse until it runs out of file descriptors.
        if (!_active.Add(path))
        {
            throw new ConfigException($"recursive include of \"{path}\"", where);
        }

        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (UnauthorizedAccessException)
        {
            _active.Remove(path);
            throw new ConfigException($"open() \"{path}\" failed (13: Permission denied)", where);
        }
        catch (IOException e)
        {
            _active.Remove(path);
            throw new ConfigException($"open() \"{path}\" failed ({e.Message})", where, e);
        }

        _files.Add(new ConfigSourceFile(path, text));
        return new IncludedFile(path, text);
    }

    internal static string ReadEmbedded(string name)
    {
        Assembly assembly = typeof(IncludeResolver).Assembly;
        using Stream stream = assembly.GetManifestResourceStream("conf/" + name)
            ?? throw new InvalidOperationException($"embedded resource conf/{name} is missing");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
