using System.Collections.Frozen;

namespace Portico.Server.Variables;

/// <summary>
/// What variable names are known where a value is compiled: the built-in table plus named
/// captures declared by regexes in the config (nginx registers those at load, so
/// <c>$sub</c> from <c>server_name ~^(?&lt;sub&gt;.+)\.x$</c> is known everywhere), plus names
/// declared by <c>set</c> and by content handlers. Immutable; the <c>With*</c> methods return a copy.
/// </summary>
internal sealed class VariableScope
{
    /// <summary>
    /// Variables that content handlers (FastCGI, proxy) put into <c>RequestContext.UserVariables</c>
    /// (lower-case keys). nginx knows them at load because their modules register them, so a
    /// <c>log_format</c> naming <c>$upstream_response_time</c> is valid even where no proxy runs;
    /// where no handler set them they are "not found" (<c>-</c> in a log line).
    /// </summary>
    public static readonly IReadOnlyList<string> HandlerVariables =
    [
        "fastcgi_script_name", "fastcgi_path_info",
        "upstream_addr", "upstream_status", "upstream_response_time", "upstream_connect_time",
        "upstream_header_time", "upstream_response_length", "upstream_bytes_received",
        "upstream_bytes_sent", "upstream_cache_status", "proxy_host", "proxy_port",
        "proxy_add_x_forwarded_for", "realpath_root", "gzip_ratio", "limit_rate", "ssl_protocol",
        "ssl_cipher", "ssl_server_name", "ssl_session_reused", "ssl_client_verify",
        "request_body_file",
    ];

    private readonly FrozenSet<string> _names;

    // The names given to set: read before any set ran, such a variable is empty, not "not found".
    private readonly FrozenSet<string> _setNames;

    private VariableScope(TimeProvider time, FrozenSet<string> names, FrozenSet<string> setNames)
    {
        Clock = new VariableClock(time);
        _names = names;
        _setNames = setNames;
    }

    private VariableScope(VariableClock clock, FrozenSet<string> names, FrozenSet<string> setNames)
    {
        Clock = clock;
        _names = names;
        _setNames = setNames;
    }

    public static VariableScope Default { get; } = new(TimeProvider.System, HandlerVariables.ToFrozenSet(StringComparer.Ordinal), FrozenSet<string>.Empty);

    /// <summary>Time source and per-second caches of the time variables.</summary>
    public VariableClock Clock { get; }

    public TimeProvider TimeProvider => Clock.Time;

    /// <summary>A scope whose time variables read <paramref name="time"/> (tests, and the host's injected clock).</summary>
    public VariableScope WithTimeProvider(TimeProvider time) => new(time, _names, _setNames);

    /// <summary>Adds the names of <c>(?&lt;name&gt;...)</c> groups of config regexes.</summary>
    public VariableScope WithNamedCaptures(IEnumerable<string> names) => new(Clock, Union(_names, names), _setNames);

    /// <summary>Adds names declared with <c>set $name</c>; read from <c>RequestContext.UserVariables</c>.</summary>
    public VariableScope WithUserVariables(IEnumerable<string> names)
    {
        var list = names.ToList();
        return new(Clock, Union(_names, list), Union(_setNames, list));
    }

    private static FrozenSet<string> Union(FrozenSet<string> known, IEnumerable<string> names)
    {
        var set = new HashSet<string>(known, StringComparer.Ordinal);
        foreach (var n in names)
        {
            set.Add(n.ToLowerInvariant());
        }

        return set.ToFrozenSet(StringComparer.Ordinal);
    }

    /// <summary>True when <paramref name="lowerName"/> is a declared capture, <c>set</c> or handler variable.</summary>
    public bool IsDeclared(string lowerName) => _names.Contains(lowerName);

    /// <summary>True when <paramref name="lowerName"/> was given to <c>set</c> somewhere in the config.</summary>
    public bool IsSet(string lowerName) => _setNames.Contains(lowerName);
}
