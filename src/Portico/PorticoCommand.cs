using System.Runtime.InteropServices;
using Portico.Config;
using Portico.Server.Hosting;

namespace Portico;

/// <summary>What the <c>portico</c> binary does with its command line.</summary>
internal static class PorticoCommand
{
    public const string Name = "portico";
    public const string Version = "0.1.0";
    public const string DefaultPrefix = "/etc/portico/";
    public const string DefaultConfigFile = "portico.conf";

    // The modules this build has, in nginx's -V format; deployment tools grep for these.
    private const string ConfigureArguments =
        "--prefix=/etc/portico/ --conf-path=portico.conf --error-log-path=stderr "
        + "--with-http_autoindex_module --with-http_index_module --with-http_static_module "
        + "--with-http_log_module --with-http_rewrite_module --with-http_headers_module "
        + "--with-http_fastcgi_module --with-http_upstream_module";

    public static async Task<int> RunAsync(string[] args)
    {
        var command = CommandLine.Parse(args, out var error);
        if (command is null)
        {
            SafeConsole.Error($"{Name}: {error}");
            return 1;
        }

        if (command.Help || command.Version || command.VersionAndConfigure)
        {
            SafeConsole.Error($"{Name} version: {Name}/{Version}");
            if (command.VersionAndConfigure)
            {
                SafeConsole.Error($"built with .NET {Environment.Version} ({RuntimeInformation.RuntimeIdentifier})");
                SafeConsole.Error($"configure arguments: {ConfigureArguments}");
            }

            if (command.Help)
            {
                SafeConsole.Error(Usage());
            }

            if (!command.Test && command.Signal is null)
            {
                return 0;
            }
        }

        var prefix = FullDirectory(command.Prefix ?? DefaultPrefix, Environment.CurrentDirectory);
        LoadedConfig loaded;
        bool zeroConfig;
        string configPath;
        try
        {
            (loaded, zeroConfig, configPath) = Load(command, prefix);
        }
        catch (ConfigException ex)
        {
            SafeConsole.Error($"{Name}: {ex}");
            if (command.Test)
            {
                SafeConsole.Error($"{Name}: configuration file {ex.Where?.File ?? Path.Combine(prefix, command.ConfigFile ?? DefaultConfigFile)} test failed");
            }

            return 1;
        }

        if (command.Signal is not null)
        {
            if (loaded.Config.PidFile is null)
            {
                SafeConsole.Error($"{Name}: [error] no \"pid\" directive in \"{configPath}\", cannot send \"{command.Signal}\" signal");
                return 1;
            }

            var failure = SignalSender.Send(loaded.Config.PidFile, command.Signal);
            if (failure is not null)
            {
                SafeConsole.Error($"{Name}: [error] {failure}");
                return 1;
            }

            return 0;
        }

        if (command.Test)
        {
            return TestConfig(command, loaded, configPath);
        }

        return await ServeAsync(loaded, zeroConfig, command).ConfigureAwait(false);
    }

    private static (LoadedConfig Loaded, bool ZeroConfig, string Path) Load(CommandLine command, string prefix)
    {
        var configPath = Path.GetFullPath(command.ConfigFile ?? DefaultConfigFile, prefix);
        if (command.ConfigFile is null && !File.Exists(configPath))
        {
            var root = Path.GetFullPath(command.Root ?? Environment.CurrentDirectory);
            var listen = command.Listen ?? ZeroConfig.DefaultListen;
            var text = ZeroConfig.Text(root, listen);
            var virtualPath = Path.Combine(root, "(zero-config)");
            return (ConfigLoader.LoadText(text, virtualPath, prefix, command.GlobalDirectives), true, virtualPath);
        }

        if (command.Root is not null || command.Listen is not null)
        {
            throw new ConfigException("\"--root\" and \"--listen\" apply only when no configuration file is used", null);
        }

        return (WithErrorLog(ConfigLoader.Load(configPath, prefix, command.GlobalDirectives), command, prefix), false, configPath);
    }

    /// <summary>
    /// <c>-e FILE</c> replaces the default error log (nginx: "use an alternative error log file
    /// instead of the default"); an <c>error_log</c> in the main context still wins.
    /// </summary>
    private static LoadedConfig WithErrorLog(LoadedConfig loaded, CommandLine command, string prefix)
    {
        if (command.ErrorLog is null || loaded.Config.ErrorLogs.Any(e => e.Where.Line > 0 || e.Where == SourceLocation.CommandLine))
        {
            return loaded;
        }

        var file = command.ErrorLog is "stderr" ? "stderr" : Path.GetFullPath(command.ErrorLog, prefix);
        var config = loaded.Config;
        var replaced = new Portico.Config.Model.PorticoConfig
        {
            FilePath = config.FilePath,
            Prefix = config.Prefix,
            PidFile = config.PidFile,
            WorkerProcesses = config.WorkerProcesses,
            WorkerProcessesAuto = config.WorkerProcessesAuto,
            Http = config.Http,
            ErrorLogs = [new Portico.Config.Model.ErrorLogConfig(file, LogLevel.Error, SourceLocation.CommandLine)],
        };
        return loaded with { Config = replaced };
    }

    private static int TestConfig(CommandLine command, LoadedConfig loaded, string configPath)
    {
        try
        {
            // Compile everything a start would (variables, regexes, log files), without binding.
            var logs = new Portico.Server.Logging.LogManager(loaded.Config.Prefix);
            try
            {
                RuntimeConfig.Build(loaded.Config, TimeProvider.System, logs);
            }
            finally
            {
                logs.DisposeAsync().AsTask().GetAwaiter().GetResult();
            }
        }
        catch (ConfigException ex)
        {
            SafeConsole.Error($"{Name}: {ex}");
            SafeConsole.Error($"{Name}: configuration file {configPath} test failed");
            return 1;
        }

        if (!command.Quiet)
        {
            SafeConsole.Error($"{Name}: the configuration file {configPath} syntax is ok");
            SafeConsole.Error($"{Name}: configuration file {configPath} test is successful");
        }

        if (command.TestAndDump)
        {
            foreach (var file in loaded.Files)
            {
                SafeConsole.Out($"# configuration file {file.Path}:\n{file.Text}\n");
            }
        }

        return 0;
    }

    private static async Task<int> ServeAsync(LoadedConfig loaded, bool zeroConfig, CommandLine command)
    {
        // Handlers first: a signal that arrives once the port accepts but before they exist
        // would otherwise reach only the generic host's own SIGTERM handling, which stops Kestrel
        // but not this method (the process then hangs without a listener).
        PorticoHost? host = null;
        var stop = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var quit = PosixSignalRegistration.Create(PosixSignal.SIGQUIT, ctx => { ctx.Cancel = true; stop.TrySetResult(true); });
        using var term = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; stop.TrySetResult(false); });
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, ctx => { ctx.Cancel = true; stop.TrySetResult(false); });
        using var reopen = PosixSignalRegistration.Create((PosixSignal)SignalSender.SigUsr1, ctx => { ctx.Cancel = true; host?.ReopenLogs(); });
        // A SIGHUP that comes while the host starts (its sockets may already accept) is kept and applied once it
        // runs, whichever of the two sees the other first.
        var reloadPending = 0;
        void ReloadWhenRunning()
        {
            if (Volatile.Read(ref host) is { } running && Interlocked.Exchange(ref reloadPending, 0) == 1)
            {
                _ = Task.Run(() => ReloadAsync(running, command));
            }
        }

        using var reload = PosixSignalRegistration.Create(PosixSignal.SIGHUP, ctx =>
        {
            ctx.Cancel = true;
            Volatile.Write(ref reloadPending, 1);
            ReloadWhenRunning();
        });

        try
        {
            EventLoop.Configure(loaded.Config.WorkerProcesses, loaded.Config.WorkerProcessesAuto);
            Volatile.Write(ref host, await PorticoHost.StartAsync(loaded.Config).ConfigureAwait(false));
            ReloadWhenRunning();
        }
        catch (ConfigException ex)
        {
            SafeConsole.Error($"{Name}: {ex}");
            return 1;
        }

        if (zeroConfig)
        {
            SafeConsole.Error($"{Name}: no configuration file, serving {Path.GetFullPath(command.Root ?? Environment.CurrentDirectory)}");
            SafeConsole.Error($"{Name}: listening on {ZeroConfig.Url(command.Listen ?? ZeroConfig.DefaultListen)}");
        }

        var graceful = await stop.Task.ConfigureAwait(false);
        await host.StopAsync(graceful).ConfigureAwait(false);
        await host.DisposeAsync().ConfigureAwait(false);
        return 0;
    }

    private static async Task ReloadAsync(PorticoHost host, CommandLine command)
    {
        try
        {
            var prefix = FullDirectory(command.Prefix ?? DefaultPrefix, Environment.CurrentDirectory);
            var (loaded, _, _) = Load(command, prefix);
            await host.ReloadAsync(loaded.Config).ConfigureAwait(false);
            host.LogError(LogLevel.Notice, "signal 1 (SIGHUP) received, configuration reloaded");
        }
        catch (ConfigException ex)
        {
            // nginx logs the reason and keeps the old workers running.
            host.LogError(LogLevel.Emerg, ex.Message);
            host.LogError(LogLevel.Error, "reload failed, keeping the running configuration");
        }
    }

    private static string FullDirectory(string path, string relativeTo)
    {
        var full = Path.GetFullPath(path, relativeTo);
        return full.EndsWith('/') ? full : full + "/";
    }

    private static string Usage() =>
        $"Usage: {Name} [-?hvVtTq] [-s signal] [-p prefix]\n"
        + "               [-e filename] [-c filename] [-g directives]\n"
        + "               [--root dir] [--listen address]\n\n"
        + "Options:\n"
        + "  -?,-h         : this help\n"
        + "  -v            : show version and exit\n"
        + "  -V            : show version and configure options then exit\n"
        + "  -t            : test configuration and exit\n"
        + "  -T            : test configuration, dump it and exit\n"
        + "  -q            : suppress non-error messages during configuration testing\n"
        + "  -s signal     : send signal to a master process: stop, quit, reopen, reload\n"
        + $"  -p prefix     : set prefix path (default: {DefaultPrefix})\n"
        + "  -e filename   : set error log file (default: logs/error.log)\n"
        + $"  -c filename   : set configuration file (default: {DefaultPrefix}{DefaultConfigFile})\n"
        + "  -g directives : set global directives out of configuration file\n"
        + "  --root dir    : without a configuration file, serve this directory (default: .)\n"
        + $"  --listen addr : without a configuration file, listen here (default: {ZeroConfig.DefaultListen})";
}
