using Portico.Config.Model;
using Portico.Config.Syntax;

namespace Portico.Config.Directives;

/// <summary>
/// Main-context directives (https://nginx.org/en/docs/ngx_core_module.html).
/// <c>worker_processes</c> sets the number of event-loop threads (see Portico.Server's EventLoop).
/// Accepted no-ops, because Kestrel and the .NET runtime own processes and threads:
/// <c>daemon</c>, <c>master_process</c>, <c>worker_rlimit_nofile</c>,
/// <c>user</c>, <c>pcre_jit</c>, <c>load_module</c>, and in <c>events</c>: <c>worker_connections</c>, <c>use</c>,
/// <c>multi_accept</c>. They are still validated as nginx validates them.
/// </summary>
internal static class CoreDirectives
{
    public static IEnumerable<DirectiveSpec> All =>
    [
        new("daemon", DirectiveContext.Main, Arity.Flag, (ctx, d) => Once(ctx, d, () => Values.Flag(d))),
        new("master_process", DirectiveContext.Main, Arity.Flag, (ctx, d) => Once(ctx, d, () => Values.Flag(d))),
        new("pcre_jit", DirectiveContext.Main, Arity.Flag, (ctx, d) => Once(ctx, d, () => Values.Flag(d))),
        new("worker_processes", DirectiveContext.Main, Arity.Take1, (ctx, d) => Once(ctx, d, () =>
        {
            if (d.Args[0] == "auto")
            {
                ctx.Main.WorkerProcessesAuto = true;
                return;
            }

            ctx.Main.WorkerProcesses = Values.Int(d.Args[0]) switch
            {
                null => throw BindContext.DirectiveError(d, "invalid value"),
                0 => null, // nginx accepts 0 (a master without workers); a server that serves nothing helps no one, so: auto
                var n => n,
            };
            ctx.Main.WorkerProcessesAuto = ctx.Main.WorkerProcesses is null;
        })),
        new("worker_rlimit_nofile", DirectiveContext.Main, Arity.Take1, (ctx, d) => Once(ctx, d, () => Values.NumberArg(d))),
        new("user", DirectiveContext.Main, Arity.Take12, (ctx, d) => Once(ctx, d, () => { })),

        // Portico's modules are built in; a directive of a module it does not have is refused where it is used, by
        // name (Debian's nginx.conf includes modules-enabled/*.conf, a load_module line per installed module).
        new("load_module", DirectiveContext.Main, Arity.Take1, (_, _) => { }),
        new("pid", DirectiveContext.Main, Arity.Take1, (ctx, d) => Once(ctx, d, () =>
            ctx.Main.PidFile = d.Args[0] == "off" ? null : ctx.FullPath(d.Args[0]))),
        new("error_log", DirectiveContext.Main | DirectiveContext.HttpAll, Arity.OneMore, BindErrorLog),
        new("events", DirectiveContext.Main, Arity.BlockNoArgs, (ctx, d) => Once(ctx, d, () =>
            DirectiveTable.BindAll(ctx.Enter(DirectiveContext.Events), d.Block!))),
        new("http", DirectiveContext.Main, Arity.BlockNoArgs, (ctx, d) => Once(ctx, d, () =>
        {
            var http = new HttpBuilder { End = new SourceLocation(d.Where.File, d.EndLine) };
            ctx.Main.Http = http;
            DirectiveTable.BindAll(ctx.Enter(DirectiveContext.Http, http: http), d.Block!);
        })),

        // Well-formed includes are expanded by the parser; this row only gives a malformed one
        // nginx's arity and terminator errors.
        new("include", DirectiveContext.Any, Arity.Take1, (_, _) => { }),
    ];

    /// <summary>Main-context directives are single-valued: a second one is "is duplicate", also against <c>-g</c>.</summary>
    private static void Once(BindContext ctx, ConfigDirective d, Action bind)
    {
        if (!ctx.Main.Seen.Add(d.Name))
        {
            throw BindContext.DirectiveError(d, "is duplicate");
        }

        bind();
    }

    private static void Once<T>(BindContext ctx, ConfigDirective d, Func<T> bind) => Once(ctx, d, () => { _ = bind(); });

    /// <summary>
    /// <c>error_log FILE [LEVEL]</c> (https://nginx.org/en/docs/ngx_core_module.html#error_log):
    /// FILE is a path (relative to the prefix), <c>stderr</c> or <c>stdout</c>; <c>syslog:</c> and
    /// <c>memory:</c> are not supported.
    /// </summary>
    private static void BindErrorLog(BindContext ctx, ConfigDirective d)
    {
        string file = d.Args[0];
        if (file.StartsWith("syslog:", StringComparison.Ordinal) || file.StartsWith("memory:", StringComparison.Ordinal))
        {
            throw BindContext.Error(d, $"\"error_log\" to \"{file}\" is not supported by portico");
        }

        if (d.Args.Count > 2)
        {
            // nginx only allows several levels for debug_* masks, which we do not have.
            throw BindContext.Error(d, ParseLevel(d.Args[2]) is null ? $"invalid log level \"{d.Args[2]}\"" : $"duplicate log level \"{d.Args[2]}\"");
        }

        LogLevel level = LogLevel.Error;
        if (d.Args.Count == 2)
        {
            level = ParseLevel(d.Args[1]) ?? throw BindContext.Error(d, $"invalid log level \"{d.Args[1]}\"");
        }

        string target = file is "stderr" or "stdout" ? file : ctx.FullPath(file);
        var log = new ErrorLogConfig(target, level, d.Where);
        if (ctx.Context == DirectiveContext.Main)
        {
            ctx.Main.ErrorLogs.Add(log);
        }
        else
        {
            ctx.Level.List<ErrorLogConfig>("error_log", (s, l) => s with { ErrorLogs = l }).Add(log);
        }
    }

    private static LogLevel? ParseLevel(string s) => s switch
    {
        "debug" => LogLevel.Debug,
        "info" => LogLevel.Info,
        "notice" => LogLevel.Notice,
        "warn" => LogLevel.Warn,
        "error" => LogLevel.Error,
        "crit" => LogLevel.Crit,
        "alert" => LogLevel.Alert,
        "emerg" => LogLevel.Emerg,
        _ => null,
    };
}
