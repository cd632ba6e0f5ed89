namespace Portico.Config.Directives;

/// <summary>
/// <c>events { }</c> (https://nginx.org/en/docs/ngx_core_module.html#events): accepted and
/// validated, no effect, because Kestrel owns connection handling.
/// </summary>
internal static class EventsDirectives
{
    private static readonly string[] s_methods = ["select", "poll", "kqueue", "epoll", "/dev/poll", "eventport"];

    public static IEnumerable<DirectiveSpec> All =>
    [
        new("worker_connections", DirectiveContext.Events, Arity.Take1, (ctx, d) => Once(ctx, d, () => Values.NumberArg(d))),
        new("multi_accept", DirectiveContext.Events, Arity.Flag, (ctx, d) => Once(ctx, d, () => Values.Flag(d))),
        new("use", DirectiveContext.Events, Arity.Take1, (ctx, d) => Once(ctx, d, () =>
        {
            if (Array.IndexOf(s_methods, d.Args[0]) < 0)
            {
                throw BindContext.Error(d, $"invalid event type \"{d.Args[0]}\"");
            }
        })),
    ];

    private static void Once(BindContext ctx, Syntax.ConfigDirective d, Action bind)
    {
        if (!ctx.Main.Seen.Add("events/" + d.Name))
        {
            throw BindContext.DirectiveError(d, "is duplicate");
        }

        bind();
    }

    private static void Once<T>(BindContext ctx, Syntax.ConfigDirective d, Func<T> bind) => Once(ctx, d, () => { _ = bind(); });
}
