using Portico.Config.Model;
using Portico.Config.Syntax;

namespace Portico.Config.Directives;

/// <summary>Where the binder is: the context kind and the builders of the enclosing blocks.</summary>
internal sealed class BindContext
{
    public required DirectiveContext Context { get; init; }
    public required LoadOptions Options { get; init; }
    public required MainBuilder Main { get; init; }
    public HttpBuilder? Http { get; init; }
    public ServerBuilder? Server { get; init; }
    public LocationBuilder? Location { get; init; }
    public UpstreamBuilder? Upstream { get; init; }

    /// <summary>The http, server or location level the directive belongs to.</summary>
    public LevelSettings Level => Location?.Settings ?? Server?.Settings ?? Http!.Settings;

    public string Prefix => Options.Prefix;

    public BindContext Enter(DirectiveContext context, HttpBuilder? http = null, ServerBuilder? server = null,
        LocationBuilder? location = null, UpstreamBuilder? upstream = null) => new()
    {
        Context = context,
        Options = Options,
        Main = Main,
        Http = http ?? Http,
        Server = server ?? Server,
        Location = location ?? Location,
        Upstream = upstream ?? Upstream,
    };

    /// <summary>nginx's <c>"NAME" directive MESSAGE</c> form (what a slot function's string return becomes).</summary>
    public static ConfigException DirectiveError(ConfigDirective d, string message) =>
        new($"\"{d.Name}\" directive {message}", d.Where);

    public static ConfigException Error(ConfigDirective d, string message) => new(message, d.Where);

    /// <summary>Records a scalar setting, failing with <c>"root" directive is duplicate</c> the second time.</summary>
    public void Set(ConfigDirective d, Func<LocationSettings, LocationSettings> change, string? key = null)
    {
        if (!Level.TrySet(key ?? d.Name, d.Name, change))
        {
            throw DirectiveError(d, "is duplicate");
        }
    }

    public ConfigValue Value(ConfigDirective d, int index) => new(d.Args[index], d.Where);

    /// <summary>
    /// Resolves a relative path against the prefix, variables or not, except a value that starts
    /// with a variable: it is kept as written and resolved per request (ngx_http_core_root applies
    /// ngx_conf_full_name unless the value starts with <c>$</c>).
    /// </summary>
    public ConfigValue PathValue(ConfigDirective d, int index)
    {
        var value = new ConfigValue(d.Args[index], d.Where);
        return value.Text.StartsWith('$') ? value : value with { Text = FullPath(d.Args[index]) };
    }

    public string FullPath(string path) =>
        Path.IsPathRooted(path) ? path : Path.Join(Prefix, path);
}
