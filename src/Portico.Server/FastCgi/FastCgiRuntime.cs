using System.Collections.Concurrent;
using System.Collections.Frozen;
using System.Globalization;
using Portico.Config;
using Portico.Config.Model;
using Portico.FastCgi.Client;
using Portico.Server.Hosting;
using Portico.Server.Phases;
using Portico.Server.Variables;

namespace Portico.Server.FastCgi;

/// <summary>
/// The FastCGI part of a config snapshot: upstream groups (with their balancing state) and every
/// location's FastCGI settings compiled once. Connection pools come from a process-wide registry keyed
/// by endpoint and pool limits, so a reload that keeps an upstream keeps its warm connections; a pool no
/// longer used by any snapshot only holds idle connections until keepalive_timeout closes them.
/// </summary>
internal sealed class FastCgiRuntime
{
    private static readonly ConcurrentDictionary<PoolKey, FastCgiConnectionPool> s_pools = new();

    private readonly Dictionary<FastCgiSettings, CompiledFastCgi> _compiled = new(ReferenceEqualityComparer.Instance);
    private readonly FrozenDictionary<string, UpstreamGroup> _upstreams;
    private readonly ConcurrentDictionary<string, UpstreamGroup> _dynamic = new(StringComparer.Ordinal);
    private readonly HttpConfig _http;
    private readonly TimeProvider _time;
    private readonly VariableScope _scope;

    private FastCgiRuntime(HttpConfig http, VariableScope scope, TimeProvider time)
    {
        _http = http;
        _time = time;
        _scope = scope;
        var upstreams = new Dictionary<string, UpstreamGroup>(StringComparer.Ordinal);
        foreach (var (name, upstream) in http.Upstreams)
        {
            upstreams[name] = BuildGroup(upstream, scope, http.Settings.FastCgi.ConnectTimeout, time);
        }

        _upstreams = upstreams.ToFrozenDictionary(StringComparer.Ordinal);
    }

    public TimeProvider Time => _time;

    /// <summary>Compiles every location's fastcgi settings; throws <see cref="ConfigException"/> with file:line.</summary>
    public static FastCgiRuntime Build(HttpConfig http, VariableScope scope, TimeProvider time)
    {
        var runtime = new FastCgiRuntime(http, scope, time);
        runtime.Add(http.Settings.FastCgi);
        foreach (var server in http.Servers)
        {
            runtime.Add(server.Settings.FastCgi);
            runtime.AddLocations(server.Locations);
        }

        return runtime;
    }

    public CompiledFastCgi Get(FastCgiSettings settings)
    {
        if (_compiled.TryGetValue(settings, out var compiled))
        {
            return compiled;
        }

        // Not reachable from the config tree walked at load (should not happen); compile on the side.
        lock (_compiled)
        {
            if (!_compiled.TryGetValue(settings, out compiled))
            {
                compiled = Compile(settings);
                _compiled.Add(settings, compiled);
            }

            return compiled;
        }
    }

    /// <summary>
    /// The group for a <c>fastcgi_pass</c> with variables: an upstream name, or an address (kept as an
    /// implicit one-server group, as nginx resolves it per request).
    /// </summary>
    public UpstreamGroup? Resolve(string target, CompiledFastCgi settings)
    {
        if (_upstreams.TryGetValue(target, out var group))
        {
            return group;
        }

        if (_dynamic.TryGetValue(target, out group))
        {
            return group;
        }

        FastCgiEndPoint endPoint;
        try
        {
            endPoint = FastCgiEndPoint.Parse(target);
        }
        catch (Exception ex) when (ex is FormatException or ArgumentException)
        {
            return null;
        }

        if (_dynamic.Count > 256)
        {
            _dynamic.Clear();
        }

        group = Implicit(endPoint, settings.Source.ConnectTimeout);
        return _dynamic.GetOrAdd(target, group);
    }

    private void AddLocations(IReadOnlyList<LocationConfig> locations)
    {
        foreach (var location in locations)
        {
            Add(location.Settings.FastCgi);
            AddLocations(location.Locations);
        }
    }

    private void Add(FastCgiSettings settings)
    {
        if (!_compiled.ContainsKey(settings))
        {
            _compiled.Add(settings, Compile(settings));
        }
    }

    private CompiledFastCgi Compile(FastCgiSettings settings)
    {
        UpstreamGroup? group = null;
        CompiledValue? dynamicTarget = null;
        if (settings.Pass is { } pass)
        {
            if (pass.Target.HasVariables)
            {
                dynamicTarget = CompiledValue.Compile(pass.Target, _scope);
            }
            else if (pass.Upstream is { } name)
            {
                group = _upstreams.TryGetValue(name, out var named)
                    ? named
                    : throw new ConfigException($"no port in upstream \"{name}\"", pass.Where);
            }
            else
            {
                var endPoint = pass.UnixPath is { } path ? FastCgiEndPoint.Unix(path) : FastCgiEndPoint.Tcp(pass.Host!, pass.Port);
                group = Implicit(endPoint, settings.ConnectTimeout);
            }
        }

        return CompiledFastCgi.Create(settings, group, dynamicTarget, _scope, _time);
    }

    private UpstreamGroup Implicit(FastCgiEndPoint endPoint, TimeSpan connectTimeout)
    {
        // An implicit upstream has no "keepalive": nginx caches no connection for it, even with fastcgi_keep_conn.
        var pools = Pools(endPoint, keepalive: 0, TimeSpan.FromSeconds(60), 1000, connectTimeout, _time);
        return new UpstreamGroup(endPoint.ToString(), [new UpstreamPeer(0, endPoint, pools, null)], UpstreamBalancing.RoundRobin, null, false, _time);
    }

    private static UpstreamGroup BuildGroup(UpstreamConfig upstream, VariableScope scope, TimeSpan connectTimeout, TimeProvider time)
    {
        var peers = new List<UpstreamPeer>(upstream.Servers.Count);
        foreach (var server in upstream.Servers)
        {
            FastCgiEndPoint endPoint;
            try
            {
                var address = server.Address;
                if (!address.StartsWith("unix:", StringComparison.Ordinal) && (address.LastIndexOf(':') < 0 || address.EndsWith(']')))
                {
                    address += ":80"; // nginx's default port for an upstream server without one.
                }

                endPoint = FastCgiEndPoint.Parse(address);
            }
            catch (Exception ex) when (ex is FormatException or ArgumentException)
            {
                throw new ConfigException($"invalid host in upstream \"{server.Address}\"", server.Where);
            }

            // nginx's fastcgi_connect_timeout is per location; a group's pools use the http-level value.
            var pools = Pools(endPoint, upstream.Keepalive, upstream.KeepaliveTimeout, upstream.KeepaliveRequests, connectTimeout, time);
            peers.Add(new UpstreamPeer(peers.Count, endPoint, pools, server));
        }

        var key = upstream.HashKey is null ? null : CompiledValue.Compile(upstream.HashKey, scope);
        return new UpstreamGroup(upstream.Name, peers, upstream.Balancing, key, upstream.HashConsistent, time);
    }

    /// <summary>
    /// nginx's <c>keepalive N</c> is "the maximum number of idle keepalive connections to upstream servers that are
    /// preserved in the cache of each worker process" (ngx_http_upstream_module). Portico's workers are its event
    /// loops (see EventLoop). On its own loops each worker has a pool of its own keeping N, as an nginx worker's
    /// cache does: a request, its FastCGI connection and the answer stay on one thread. On Kestrel's socket
    /// transport the loops share one pool keeping N per loop. Either way a config moved from nginx pins as many
    /// backend workers as it did there. Without <c>worker_processes</c> nginx runs one worker, so N is kept in
    /// all, in one pool (see EventLoop.Workers). In-process hosts (no EventLoop) count as one worker.
    /// </summary>
    private static FastCgiConnectionPool[] Pools(FastCgiEndPoint endPoint, int keepalive, TimeSpan idleTimeout, int maxRequests, TimeSpan connectTimeout, TimeProvider time)
    {
        var workers = Math.Max(1, EventLoop.Workers);
        if (EventLoop.Loops is { } loops && workers > 1 && workers == loops.Loops.Length)
        {
            var perLoop = new FastCgiConnectionPool[workers];
            for (var i = 0; i < workers; i++)
            {
                perLoop[i] = Pool(new PoolKey(endPoint, keepalive, idleTimeout, maxRequests, connectTimeout, time, i));
            }

            return perLoop;
        }

        return [Pool(new PoolKey(endPoint, keepalive * workers, idleTimeout, maxRequests, connectTimeout, time, Loop: -1))];
    }

    private static FastCgiConnectionPool Pool(PoolKey key) =>
        s_pools.GetOrAdd(
            key,
            static key => new FastCgiConnectionPool(key.EndPoint, new FastCgiPoolOptions
            {
                MaxIdleConnections = key.Keepalive,
                IdleTimeout = key.IdleTimeout,
                MaxRequestsPerConnection = Math.Max(1, key.MaxRequests),
                ConnectTimeout = key.ConnectTimeout,
                TimeProvider = key.Time,
                Connector = EventLoop.Loops is { } loops ? new Transport.LoopFastCgiConnector(loops, key.Loop) : FastCgiConnector.Sockets,
                HandOffDispatcher = EventLoop.Loops is null ? null : Transport.LoopFastCgiConnector.PostToCurrentLoop,
            }));

    /// <summary><paramref name="Loop"/>: the event loop owning the pool, -1 for a pool all loops share.</summary>
    private readonly record struct PoolKey(FastCgiEndPoint EndPoint, int Keepalive, TimeSpan IdleTimeout, int MaxRequests, TimeSpan ConnectTimeout, TimeProvider Time, int Loop);
}

/// <summary>One location's FastCGI settings with values compiled and header rules as sets.</summary>
internal sealed class CompiledFastCgi
{
    // ngx_http_fastcgi_hide_headers: never passed to the client unless fastcgi_pass_header names them.
    private static readonly string[] s_hiddenByDefault =
    [
        "Status", "X-Accel-Expires", "X-Accel-Redirect", "X-Accel-Limit-Rate", "X-Accel-Buffering", "X-Accel-Charset",
    ];

    // Hop-by-hop headers (RFC 9110 section 7.6.1) describe the backend link; Kestrel frames the client's.
    private static readonly string[] s_hopByHop =
    [
        "Connection", "Keep-Alive", "Transfer-Encoding", "Upgrade", "Proxy-Connection", "TE", "Trailer",
    ];

    private CompiledFastCgi(FastCgiSettings source)
    {
        Source = source;
    }

    public FastCgiSettings Source { get; }

    /// <summary>The group for a constant <c>fastcgi_pass</c>.</summary>
    public UpstreamGroup? Group { get; private init; }

    /// <summary>The <c>fastcgi_pass</c> value when it has variables.</summary>
    public CompiledValue? DynamicTarget { get; private init; }

    public required FastCgiParamProgram Params { get; init; }

    /// <summary>HTTP_* names set explicitly by fastcgi_param: the request header of that name is not sent again.</summary>
    public required FrozenSet<string> ExplicitHttpParams { get; init; }

    public required FrozenSet<string> HiddenHeaders { get; init; }

    public required FastCgiClientOptions ClientOptions { get; init; }

    public static CompiledFastCgi Create(FastCgiSettings settings, UpstreamGroup? group, CompiledValue? dynamicTarget, VariableScope scope, TimeProvider time)
    {
        var explicitHttp = new HashSet<string>(StringComparer.Ordinal);
        foreach (var param in settings.Params)
        {
            if (param.Name.StartsWith("HTTP_", StringComparison.Ordinal))
            {
                explicitHttp.Add(param.Name);
            }
        }

        var hidden = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        hidden.UnionWith(s_hiddenByDefault);
        hidden.UnionWith(settings.HideHeaders);
        foreach (var pass in settings.PassHeaders)
        {
            hidden.Remove(pass);
        }

        hidden.UnionWith(s_hopByHop);
        hidden.Add("Status");

        // Splitting is compiled here so a bad regex fails the load, not a request.
        FastCgiVariables.Prepare(settings);

        var options = new FastCgiClientOptions
        {
            KeepConnection = settings.KeepConn,

            // Per location, also when an upstream group's pools are shared by locations with other values.
            ConnectTimeout = settings.ConnectTimeout,
            SocketKeepAlive = settings.SocketKeepalive,
            SendTimeout = settings.SendTimeout,
            ReadTimeout = settings.ReadTimeout,
            // nginx fails with "upstream sent too big header" beyond fastcgi_buffer_size; keep a sane floor.
            MaxResponseHeaderBytes = (int)Math.Clamp(settings.BufferSize, 4096, 1024 * 1024) * 16,
            CatchStderr = settings.CatchStderr,
        };
        return new CompiledFastCgi(settings)
        {
            Group = group,
            DynamicTarget = dynamicTarget,
            Params = FastCgiParamProgram.Compile(settings.Params, scope),
            ExplicitHttpParams = explicitHttp.ToFrozenSet(StringComparer.Ordinal),
            HiddenHeaders = hidden.ToFrozenSet(StringComparer.OrdinalIgnoreCase),
            ClientOptions = options,
        };
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"fastcgi {Source.Pass?.Target}");
}
