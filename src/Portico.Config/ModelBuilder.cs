using Portico.Config.Directives;
using Portico.Config.Model;

namespace Portico.Config;

/// <summary>
/// Turns the builders into the immutable model, merging settings top-down once
/// (http -> server -> location -> nested location) and running the checks nginx makes when it
/// builds its server tables.
/// </summary>
internal static class ModelBuilder
{
    public static PorticoConfig Build(MainBuilder main, LoadOptions options)
    {
        var fileStart = new SourceLocation(options.MainFile, 0);
        List<ErrorLogConfig> errorLogs = main.ErrorLogs.Count > 0
            ? main.ErrorLogs
            : [new ErrorLogConfig(Path.Join(options.Prefix, "logs/error.log"), LogLevel.Error, fileStart)];

        return new PorticoConfig
        {
            FilePath = options.MainFile,
            Prefix = options.Prefix,
            PidFile = main.PidFile,
            WorkerProcesses = main.WorkerProcesses,
            WorkerProcessesAuto = main.WorkerProcessesAuto,
            ErrorLogs = errorLogs,
            Http = main.Http is null ? null : BuildHttp(main.Http, options, fileStart),
        };
    }

    /// <summary>nginx's defaults for an http block with nothing set.</summary>
    public static LocationSettings Defaults(string prefix, SourceLocation where) => new()
    {
        Root = new ConfigValue(Path.Join(prefix, "html"), where),
        Index = [new ConfigValue("index.html", where)],
        Types = TypesDirectives.Defaults,
    };

    private static HttpConfig BuildHttp(HttpBuilder http, LoadOptions options, SourceLocation fileStart)
    {
        LocationSettings settings = http.Settings.Apply(Defaults(options.Prefix, fileStart));
        var servers = new List<ServerConfig>();
        foreach (ServerBuilder server in http.Servers)
        {
            servers.Add(BuildServer(server, settings, options));
        }

        CheckServerNames(servers);
        foreach (ServerConfig server in servers)
        {
            CheckFastCgiUpstreams(server.Locations, http.Upstreams);
        }

        foreach (ServerConfig server in servers)
        {
            FastCgiBufferCheck.Check(server.Settings.FastCgi, http.End);
            FastCgiBufferCheck.CheckAll(server.Locations, http.End);
        }

        var formats = new Dictionary<string, LogFormatConfig>(StringComparer.Ordinal)
        {
            ["combined"] = LogDirectives.Combined(fileStart),
        };
        foreach ((string name, LogFormatConfig format) in http.LogFormats)
        {
            formats[name] = format;
        }

        var upstreams = new Dictionary<string, UpstreamConfig>(StringComparer.Ordinal);
        foreach ((string name, UpstreamBuilder u) in http.Upstreams)
        {
            upstreams[name] = new UpstreamConfig
            {
                Name = u.Name,
                Servers = u.Servers.ToArray(),
                Balancing = u.Balancing,
                HashKey = u.HashKey,
                HashConsistent = u.HashConsistent,
                Keepalive = u.Keepalive,
                KeepaliveTimeout = u.KeepaliveTimeout,
                KeepaliveRequests = u.KeepaliveRequests,
                Where = u.Where,
            };
        }

        return new HttpConfig { Servers = servers, LogFormats = formats, Upstreams = upstreams, Settings = settings };
    }

    private static ServerConfig BuildServer(ServerBuilder server, LocationSettings parent, LoadOptions options)
    {
        LocationSettings settings = server.Settings.Apply(parent);
        List<ListenConfig> listens = server.Listens.Count > 0
            ? server.Listens
            // nginx: "*:80 if nginx runs with the superuser privileges, or *:8000 otherwise".
            : [new ListenConfig(null, options.RunningAsRoot ? 80 : 8000, false, server.Where)];

        return new ServerConfig
        {
            Listens = listens.ToArray(),
            Names = server.Names.ToArray(),
            Rewrites = server.Rewrites.ToArray(),
            Locations = BuildLocations(server.Locations, settings),
            Settings = settings,
            Where = server.Where,
        };
    }

    private static LocationConfig[] BuildLocations(List<LocationBuilder> builders, LocationSettings parent)
    {
        var result = new LocationConfig[builders.Count];
        for (int i = 0; i < builders.Count; i++)
        {
            LocationBuilder b = builders[i];

            // fastcgi_pass sets the location's content handler in nginx; nested locations do not inherit it.
            LocationSettings inherited = parent.FastCgi.Pass is null ? parent : parent with { FastCgi = parent.FastCgi with { Pass = null } };
            LocationSettings settings = b.Settings.Apply(inherited);
            result[i] = new LocationConfig
            {
                Match = b.Match,
                Pattern = b.Pattern,
                Locations = BuildLocations(b.Locations, settings),
                Rewrites = b.Rewrites.ToArray(),
                Settings = settings,
                Where = b.Where,
            };
        }

        return result;
    }

    /// <summary>A <c>fastcgi_pass</c> without a port must name an upstream block (nginx: "no port in upstream").</summary>
    private static void CheckFastCgiUpstreams(IReadOnlyList<LocationConfig> locations, Dictionary<string, UpstreamBuilder> upstreams)
    {
        foreach (LocationConfig location in locations)
        {
            if (location.Settings.FastCgi.Pass is { Upstream: string name } pass && !upstreams.ContainsKey(name))
            {
                throw new ConfigException($"no port in upstream \"{name}\"", pass.Where);
            }

            CheckFastCgiUpstreams(location.Locations, upstreams);
        }
    }

    /// <summary>
    /// Two servers on the same socket with the same exact or wildcard name: nginx warns
    /// "conflicting server name ... ignored" and the second is unreachable by that name. We
    /// reject it (a deliberate difference), citing the later server_name. A server without
    /// server_name has the name "".
    /// </summary>
    private static void CheckServerNames(List<ServerConfig> servers)
    {
        var seen = new Dictionary<(string Socket, string Name), ServerConfig>();
        foreach (ServerConfig server in servers)
        {
            IEnumerable<ServerNameConfig> names = server.Names.Count > 0
                ? server.Names
                : [new ServerNameConfig("", ServerNameKind.Exact, server.Where)];
            foreach (ListenConfig listen in server.Listens)
            {
                string socket = ListenDirectives.SocketText(listen);
                var local = new HashSet<string>(StringComparer.Ordinal);
                foreach (ServerNameConfig name in names)
                {
                    if (name.Kind == ServerNameKind.Regex || !local.Add(name.Text))
                    {
                        continue;
                    }

                    if (seen.TryGetValue((socket, name.Text), out ServerConfig? other) && other != server)
                    {
                        throw new ConfigException($"conflicting server name \"{name.Text}\" on {socket}", name.Where);
                    }

                    seen[(socket, name.Text)] = server;
                }
            }
        }
    }
}
