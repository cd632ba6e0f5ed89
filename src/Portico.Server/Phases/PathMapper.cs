using Portico.Config.Model;
using Portico.Server.Routing;

namespace Portico.Server.Phases;

/// <summary>
/// Maps a URI to a file path with <c>root</c> or <c>alias</c>, as ngx_http_map_uri_to_path, and
/// refuses any result outside the root/alias directory. The URI is already normalized (no dot
/// segments), but an alias can still be climbed out of (<c>location /img { alias /data/img/; }</c>
/// with <c>/img../x</c>); nginx would serve that, we never do.
/// </summary>
internal static class PathMapper
{
    public static string? Map(RequestContext ctx, RuntimeLocation? location, string uri)
    {
        var settings = ctx.Compiled!;
        string path;
        string baseDir;
        if (settings.Alias is not null && location is not null)
        {
            var alias = settings.Alias.Evaluate(ctx);
            var match = location.Config.Match;
            if (match is LocationMatch.Regex or LocationMatch.RegexCaseInsensitive)
            {
                // With a regex, alias is the whole path (it refers to captures).
                path = alias;
                var literal = settings.Source.Alias!.Text;
                var dollar = literal.IndexOf('$', StringComparison.Ordinal);
                var fixedPart = dollar < 0 ? literal : literal[..dollar];
                var slash = fixedPart.LastIndexOf('/');
                baseDir = slash <= 0 ? "/" : fixedPart[..slash];
            }
            else
            {
                var prefix = location.Config.Pattern;
                path = uri.Length >= prefix.Length && uri.StartsWith(prefix, StringComparison.Ordinal)
                    ? alias + uri[prefix.Length..]
                    : alias;
                baseDir = alias;
            }

            ctx.DocumentRoot = alias;
        }
        else
        {
            var root = settings.Root.Evaluate(ctx);
            ctx.DocumentRoot = root;
            return MapUnderRoot(root, uri);
        }

        return IsInside(path, baseDir) ? path : null;
    }

    /// <summary>
    /// As <see cref="Map"/>, for a location that needs the mapped path only as <c>$request_filename</c> (FastCGI):
    /// <c>$document_root</c> is set now, the path is built when the variable is read (with <c>alias</c>, now).
    /// </summary>
    public static void MapForVariables(RequestContext ctx, RuntimeLocation? location, string uri)
    {
        var settings = ctx.Compiled!;
        if (settings.Alias is not null && location is not null)
        {
            ctx.RequestFilename = Map(ctx, location, uri);
            return;
        }

        var root = settings.Root.Evaluate(ctx);
        ctx.DocumentRoot = root;
        ctx.MapRequestFilenameLater(root, uri);
    }

    /// <summary>ngx_http_map_uri_to_path with <c>root</c>: root + URI, or null when that leaves the root.</summary>
    internal static string? MapUnderRoot(string root, string uri)
    {
        var path = root + uri;
        return IsInside(path, root) ? path : null;
    }

    private static bool IsInside(string path, string baseDir)
    {
        if (path.Length == 0 || path[0] != '/')
        {
            return false;
        }

        // Paths without "//" or "/." segments are already what GetFullPath would return (the common case:
        // the URI was normalized and the root comes from the config); only the others pay for it.
        var full = IsPlain(path) ? path : Path.GetFullPath(path);
        var rootDir = baseDir.Length == 0 ? "/" : baseDir;
        var root = (IsPlainRoot(rootDir) ? rootDir : Path.GetFullPath(rootDir)).TrimEnd('/');
        if (root.Length == 0)
        {
            return true;
        }

        return full.StartsWith(root, StringComparison.Ordinal)
            && (full.Length == root.Length || full[root.Length] == '/');
    }

    // The last root found plain: a constant root is the same string on every request, so its three scans are
    // made once (a reference compare after that). Another root in between only costs the scans again.
    private static string? s_plainRoot;

    private static bool IsPlainRoot(string root)
    {
        if (ReferenceEquals(root, Volatile.Read(ref s_plainRoot)))
        {
            return true;
        }

        if (!IsPlain(root))
        {
            return false;
        }

        Volatile.Write(ref s_plainRoot, root);
        return true;
    }

    /// <summary>
    /// No "//", no "/." and no NUL: three vectorized scans (this runs for the file and the root of every request;
    /// hopping from one '/' to the next cost a search set-up per path segment).
    /// </summary>
    internal static bool IsPlain(string path)
    {
        var span = path.AsSpan();
        return !span.Contains('\0') && !span.Contains("//", StringComparison.Ordinal) && !span.Contains("/.", StringComparison.Ordinal);
    }
}
