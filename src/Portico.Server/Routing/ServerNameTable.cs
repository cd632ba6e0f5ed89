using System.Text.RegularExpressions;
using Portico.Config.Model;

namespace Portico.Server.Routing;

/// <summary>
/// The servers listening on one address:port, looked up by Host in nginx's order
/// (https://nginx.org/en/docs/http/server_names.html): exact name, longest wildcard starting
/// with an asterisk, longest wildcard ending with an asterisk, first matching regex (in file
/// order), else the default server.
/// </summary>
internal sealed class ServerNameTable
{
    private readonly Dictionary<string, RuntimeServer> _exact = new(StringComparer.Ordinal);
    private readonly List<(string Suffix, RuntimeServer Server)> _leadingWildcards = [];
    private readonly List<(string Prefix, RuntimeServer Server)> _trailingWildcards = [];
    private readonly List<(PcreRegex Regex, RuntimeServer Server)> _regexes = [];

    public ServerNameTable(string endpoint, RuntimeServer defaultServer)
    {
        Endpoint = endpoint;
        DefaultServer = defaultServer;
    }

    /// <summary>The canonical address:port, as nginx names it in messages.</summary>
    public string Endpoint { get; }

    public RuntimeServer DefaultServer { get; private set; }

    public void SetDefault(RuntimeServer server) => DefaultServer = server;

    /// <summary>Adds a server's names; a name already taken on this endpoint is a config error (nginx only warns).</summary>
    public void Add(RuntimeServer server)
    {
        foreach (var name in server.Config.Names)
        {
            switch (name.Kind)
            {
                case ServerNameKind.Exact:
                    if (!_exact.TryAdd(name.Text, server) && _exact[name.Text] != server)
                    {
                        throw Conflict(name);
                    }

                    break;
                case ServerNameKind.WildcardPrefix:
                    // "*.example.com" matches any name ending in ".example.com".
                    var suffix = name.Text.StartsWith('*') ? name.Text[1..] : name.Text;
                    AddUnique(_leadingWildcards, suffix, server, name);
                    break;
                case ServerNameKind.WildcardSuffix:
                    AddUnique(_trailingWildcards, name.Text[..^1], server, name);
                    break;
                case ServerNameKind.Regex:
                    // nginx matches regex server names case-insensitively (the host is lower-cased anyway).
                    _regexes.Add((PcreRegex.Create(name.Text, ignoreCase: true), server));
                    break;
            }
        }
    }

    /// <summary>Orders wildcard lists longest first, so the first hit is the longest match.</summary>
    public void Seal()
    {
        _leadingWildcards.Sort((a, b) => b.Suffix.Length.CompareTo(a.Suffix.Length));
        _trailingWildcards.Sort((a, b) => b.Prefix.Length.CompareTo(a.Prefix.Length));
    }

    /// <summary>Finds the server for a normalized host (lower-case, no port, no trailing dot).</summary>
    public RuntimeServer Find(string host, out Match? regexMatch, out string?[]? groupNames)
    {
        regexMatch = null;
        groupNames = null;
        if (_exact.TryGetValue(host, out var server))
        {
            return server;
        }

        if (host.Length > 0)
        {
            foreach (var (suffix, candidate) in _leadingWildcards)
            {
                if (host.Length > suffix.Length && host.EndsWith(suffix, StringComparison.Ordinal))
                {
                    return candidate;
                }
            }

            foreach (var (prefix, candidate) in _trailingWildcards)
            {
                if (host.Length > prefix.Length && host.StartsWith(prefix, StringComparison.Ordinal))
                {
                    return candidate;
                }
            }

            foreach (var (regex, candidate) in _regexes)
            {
                var match = regex.Match(host);
                if (match.Success)
                {
                    regexMatch = match;
                    groupNames = regex.GroupNames;
                    return candidate;
                }
            }
        }

        return DefaultServer;
    }

    private void AddUnique<T>(List<(string, T)> list, string key, T server, ServerNameConfig name)
        where T : class
    {
        foreach (var (existing, owner) in list)
        {
            if (existing == key)
            {
                if (owner == server)
                {
                    return;
                }

                throw Conflict(name);
            }
        }

        list.Add((key, server));
    }

    private Portico.Config.ConfigException Conflict(ServerNameConfig name) =>
        new($"conflicting server name \"{name.Text}\" on {Endpoint}", name.Where);
}
