using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Portico.Config;
using Portico.Config.Model;
using Portico.Server.Phases;
using Portico.Server.Routing;

namespace Portico.Server.FastCgi;

/// <summary>
/// <c>$fastcgi_script_name</c> and <c>$fastcgi_path_info</c>
/// (https://nginx.org/en/docs/http/ngx_http_fastcgi_module.html#fastcgi_split_path_info), computed on demand
/// from the current location's settings and <c>$uri</c>, like nginx's variable handlers, so that
/// <c>try_files $fastcgi_script_name =404;</c> (which runs before the content phase) sees them.
/// </summary>
/// <remarks>
/// Without <c>fastcgi_split_path_info</c>, or when its regex does not match, the script name is the whole
/// URI and the path info is empty. The regex is PCRE-like: <c>.</c> does not match a newline, so a URI with
/// an encoded newline (<c>/x.php/a%0Ab</c>) does not match <c>^(.+?\.php)(/.*)$</c> and PATH_INFO is empty;
/// that input crashed php-fpm before 7.3.11 (CVE-2019-11043). nginx behaves the same; the mitigation
/// is the same too: <c>try_files $fastcgi_script_name =404;</c> in the PHP location (the script
/// "/x.php/a\nb" does not exist, so the request never reaches php-fpm), which is what the shipped example
/// config does. <c>try_files $uri =404;</c> instead would reject PATH_INFO URLs altogether.
/// </remarks>
internal static class FastCgiVariables
{
    public const string ScriptName = "fastcgi_script_name";
    public const string PathInfo = "fastcgi_path_info";

    // The URI the cached split was computed for (compared by reference: $uri changes by assignment).
    private const string SplitFor = "\u0001fastcgi_split_for";

    private static readonly ConditionalWeakTable<FastCgiSettings, Split> s_splits = new();

    /// <summary>Compiles the split regex of <paramref name="settings"/> (throws a ConfigException on a bad one).</summary>
    public static void Prepare(FastCgiSettings settings)
    {
        if (settings.SplitPathInfo is { } split && !s_splits.TryGetValue(settings, out _))
        {
            s_splits.AddOrUpdate(settings, Split.Create(split));
        }
    }

    /// <summary>True for the two variable names this class serves.</summary>
    public static bool Serves(string lowerName) =>
        lowerName.Length is 17 or 19 && (lowerName == PathInfo || lowerName == ScriptName);

    public static string Get(RequestContext ctx, string lowerName)
    {
        var (script, info) = Compute(ctx);
        return lowerName == ScriptName ? script : info;
    }

    /// <summary>Script name and path info for the current URI and location.</summary>
    public static (string ScriptName, string PathInfo) Compute(RequestContext ctx)
    {
        var uri = ctx.Uri;
        if (ctx.Settings.FastCgi is { SplitPathInfo: null } plain)
        {
            // No split: nothing worth caching (and no per-request dictionary on the hot path).
            return (uri.EndsWith('/') && plain.Index is { } plainIndex ? uri + plainIndex.Text : uri, "");
        }

        var user = ctx.UserVariables ??= new Dictionary<string, string>(StringComparer.Ordinal);
        if (user.TryGetValue(SplitFor, out var cachedFor) && ReferenceEquals(cachedFor, uri)
            && user.TryGetValue(ScriptName, out var cachedScript) && user.TryGetValue(PathInfo, out var cachedInfo))
        {
            return (cachedScript, cachedInfo);
        }

        var settings = ctx.Settings.FastCgi;
        var script = uri;
        var info = "";
        if (settings.SplitPathInfo is { } splitConfig)
        {
            if (!s_splits.TryGetValue(settings, out var split))
            {
                split = Split.Create(splitConfig);
                s_splits.AddOrUpdate(settings, split);
            }

            Match match;
            try
            {
                match = split.Regex.Match(uri);
            }
            catch (RegexMatchTimeoutException)
            {
                match = Match.Empty;
            }

            if (match.Success)
            {
                script = match.Groups.Count > 1 ? match.Groups[1].Value : uri;
                info = match.Groups.Count > 2 ? match.Groups[2].Value : "";
            }
        }

        // fastcgi_index: appended to a script name ending in "/" (a directory request).
        if (script.EndsWith('/') && settings.Index is { } index)
        {
            script += index.Text;
        }

        user[SplitFor] = uri;
        user[ScriptName] = script;
        user[PathInfo] = info;
        return (script, info);
    }

    private sealed class Split
    {
        private Split(Regex regex) => Regex = regex;

        public Regex Regex { get; }

        public static Split Create(ConfigValue value)
        {
            try
            {
                return new Split(PcreRegex.Create(value.Text, ignoreCase: false).Regex);
            }
            catch (ArgumentException ex)
            {
                throw new ConfigException($"pcre_compile() failed: {ex.Message} in \"{value.Text}\"", value.Where);
            }
        }
    }
}
