using Portico.Config.Model;
using Portico.Server.Phases;
using Portico.Server.Variables;

namespace Portico.Server.Routing;

/// <summary>A server block compiled for request time: its location tree, named locations and settings.</summary>
internal sealed class RuntimeServer
{
    public RuntimeServer(ServerConfig config, SettingsCompiler compiler)
    {
        Config = config;
        Settings = compiler.Compile(config.Settings);
        Rewrites = compiler.CompileRewrites(config.Rewrites);
        Locations = LocationTree.Compile(config.Locations, compiler);
        var named = new Dictionary<string, RuntimeLocation>(StringComparer.Ordinal);
        foreach (var location in config.Locations)
        {
            if (location.Match == LocationMatch.Named)
            {
                named[location.Pattern] = new RuntimeLocation(location, compiler);
            }
        }

        Named = named;

        var name = config.PrimaryName;
        ServerNameVariable = name;
    }

    public ServerConfig Config { get; }

    /// <summary>Compiled server-level settings, used when no location matches.</summary>
    public CompiledSettings Settings { get; }

    public IReadOnlyList<CompiledRewrite> Rewrites { get; }

    public LocationTree Locations { get; }

    /// <summary>Named locations (<c>@name</c>, with the <c>@</c>).</summary>
    public IReadOnlyDictionary<string, RuntimeLocation> Named { get; }

    public string ServerNameVariable { get; }
}

/// <summary>A location compiled for request time.</summary>
internal sealed class RuntimeLocation
{
    public RuntimeLocation(LocationConfig config, SettingsCompiler compiler)
    {
        Config = config;
        Settings = compiler.Compile(config.Settings);
        Rewrites = compiler.CompileRewrites(config.Rewrites);
    }

    public LocationConfig Config { get; }

    public CompiledSettings Settings { get; }

    public IReadOnlyList<CompiledRewrite> Rewrites { get; }

    /// <summary>This location's compiled FastCGI settings, kept by the content handler after its first request (one
    /// dictionary lookup fewer on every PHP request). A location belongs to one config snapshot, as they do.</summary>
    public FastCgi.CompiledFastCgi? FastCgi { get; set; }
}
