using Portico.Config;
using Portico.Server.Hosting;
using Portico.Server.Phases;
using Portico.Server.Routing;

namespace Portico.Server.Tests.Routing;

internal static class RoutingTestSupport
{
    /// <summary>Loads config text and compiles its servers as a snapshot would.</summary>
    public static List<RuntimeServer> Servers(string config)
    {
        var loaded = ConfigLoader.LoadText(config, "/virtual/test.conf", "/virtual/");
        var http = loaded.Config.Http!;
        var compiler = new SettingsCompiler(VariableScopeBuilder.FromConfig(http));
        return http.Servers.Select(s => new RuntimeServer(s, compiler)).ToList();
    }
}
