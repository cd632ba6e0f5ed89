using Portico.Config.Directives;
using Portico.Config.Model;
using Portico.Config.Syntax;

namespace Portico.Config;

/// <summary>
/// A file read while loading (the main file, then includes in the order read), as <c>-T</c> prints them.
/// <see cref="Path"/> is absolute, or <c>embedded:NAME</c> for a built-in fallback (<c>mime.types</c>,
/// <c>fastcgi_params</c>, <c>fastcgi.conf</c>) used because the file was not next to the config.
/// </summary>
public sealed record ConfigSourceFile(string Path, string Text);

/// <summary>The validated model and every file it came from.</summary>
public sealed record LoadedConfig(PorticoConfig Config, IReadOnlyList<ConfigSourceFile> Files);

/// <summary>
/// Loads nginx-syntax configuration into the immutable model. Every error is a
/// <see cref="ConfigException"/> worded as nginx words it, with file:line. Stateless and safe to
/// call concurrently (a reload validates a new snapshot while the old one serves).
/// </summary>
public static class ConfigLoader
{
    /// <summary>
    /// Reads and validates <paramref name="path"/>; relative paths in it resolve against
    /// <paramref name="prefix"/>. A relative <paramref name="path"/> is itself relative to the prefix,
    /// as nginx resolves <c>-c</c>.
    /// </summary>
    /// <param name="globalDirectives">nginx's <c>-g</c>: main-context directives applied before the file.</param>
    public static LoadedConfig Load(string path, string prefix, string? globalDirectives = null)
    {
        string full = Path.GetFullPath(Path.IsPathRooted(path) ? path : Path.Join(Path.GetFullPath(prefix), path));
        string text;
        try
        {
            text = File.ReadAllText(full);
        }
        catch (FileNotFoundException)
        {
            throw new ConfigException($"open() \"{full}\" failed (2: No such file or directory)", null);
        }
        catch (DirectoryNotFoundException)
        {
            throw new ConfigException($"open() \"{full}\" failed (2: No such file or directory)", null);
        }
        catch (UnauthorizedAccessException)
        {
            throw new ConfigException($"open() \"{full}\" failed (13: Permission denied)", null);
        }

        return LoadText(text, full, prefix, globalDirectives);
    }

    /// <summary>Validates <paramref name="text"/> as if it were the file <paramref name="path"/> (relative: against the prefix).</summary>
    public static LoadedConfig LoadText(string text, string path, string prefix, string? globalDirectives = null) =>
        LoadText(text, path, prefix, globalDirectives, Environment.IsPrivilegedProcess);

    /// <summary>As above; <paramref name="runningAsRoot"/> picks the default listen port (80, or 8000 as nginx does for non-root).</summary>
    internal static LoadedConfig LoadText(string text, string path, string prefix, string? globalDirectives, bool runningAsRoot)
    {
        string fullPrefix = Path.GetFullPath(prefix);
        string full = Path.GetFullPath(Path.IsPathRooted(path) ? path : Path.Join(fullPrefix, path));
        if (fullPrefix.Length > 1)
        {
            fullPrefix = fullPrefix.TrimEnd('/');
        }

        var files = new List<ConfigSourceFile> { new(full, text) };
        var includes = new IncludeResolver(Path.GetDirectoryName(full) ?? "/", files);
        includes.Enter(full);
        var parser = new Parser(includes);

        List<ConfigDirective> global;
        try
        {
            global = globalDirectives is null ? [] : parser.ParseFile(globalDirectives, "command line", commandLine: true);
        }
        catch (IncompleteParseException e)
        {
            throw e.Error;
        }

        // nginx handles each directive as it reads it: an error in a directive before a syntax
        // error is the one reported, so the part read before a syntax error is bound first.
        List<ConfigDirective> directives;
        ConfigException? syntaxError = null;
        try
        {
            directives = parser.ParseFile(text, full);
        }
        catch (IncompleteParseException e)
        {
            directives = e.Partial;
            syntaxError = e.Error;
        }

        var options = new LoadOptions(fullPrefix, full, runningAsRoot);
        var main = new MainBuilder();
        var ctx = new BindContext { Context = DirectiveContext.Main, Options = options, Main = main };
        DirectiveTable.BindAll(ctx, global);
        DirectiveTable.BindAll(ctx, directives);
        if (syntaxError is not null)
        {
            throw syntaxError;
        }

        // A missing "events { }" is accepted: nginx requires it ("no \"events\" section in
        // configuration") but it configures nothing we use.

        PorticoConfig config = ModelBuilder.Build(main, options);
        return new LoadedConfig(config, files);
    }
}
