using Portico.Config;
using Portico.Config.Model;
using Portico.Server.Phases;

namespace Portico.Server.Hosting;

/// <summary>The access and error logs of one snapshot, as the pipeline sees them.</summary>
internal sealed class ServerLogs : IAsyncDisposable
{
    // TEMPORARY until the Logging subsystem lands.
    public static ServerLogs Create(PorticoConfig config, SettingsCompiler compiler, TimeProvider time) => new();

    public void LogRequest(RequestContext ctx)
    {
    }

    public void Error(Portico.Config.LogLevel level, RequestContext? ctx, string message)
    {
    }

    public void Reopen()
    {
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
