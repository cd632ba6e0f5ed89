using Portico.Config.Model;
using Portico.Config.Syntax;

namespace Portico.Config.Directives;

/// <summary>ngx_http_upstream_module (https://nginx.org/en/docs/http/ngx_http_upstream_module.html).</summary>
internal static class UpstreamDirectives
{
    public static IEnumerable<DirectiveSpec> All =>
    [
        new("upstream", DirectiveContext.Http, Arity.BlockTake1, BindUpstream),
        new("server", DirectiveContext.Upstream, Arity.OneMore, BindServer),
        new("keepalive", DirectiveContext.Upstream, Arity.Take1, (ctx, d) => Once(ctx, d, () =>
            ctx.Upstream!.Keepalive = Values.Int(d.Args[0]) is int n and > 0 ? n : throw BindContext.Error(d, $"invalid value \"{d.Args[0]}\" in \"keepalive\" directive"))),
        new("keepalive_timeout", DirectiveContext.Upstream, Arity.Take1, (ctx, d) => Once(ctx, d, () => ctx.Upstream!.KeepaliveTimeout = Values.TimeArg(d))),
        new("keepalive_requests", DirectiveContext.Upstream, Arity.Take1, (ctx, d) => Once(ctx, d, () => ctx.Upstream!.KeepaliveRequests = Values.NumberArg(d))),
        new("least_conn", DirectiveContext.Upstream, Arity.NoArgs, (ctx, d) => Balancing(ctx, d, UpstreamBalancing.LeastConn)),
        new("ip_hash", DirectiveContext.Upstream, Arity.NoArgs, (ctx, d) => Balancing(ctx, d, UpstreamBalancing.IpHash)),
        new("hash", DirectiveContext.Upstream, Arity.Take12, (ctx, d) =>
        {
            if (d.Args.Count == 2 && d.Args[1] != "consistent")
            {
                throw BindContext.Error(d, $"invalid parameter \"{d.Args[1]}\"");
            }

            Balancing(ctx, d, UpstreamBalancing.Hash);
            ctx.Upstream!.HashKey = ctx.Value(d, 0);
            ctx.Upstream.HashConsistent = d.Args.Count == 2;
        }),
    ];

    private static void Once(BindContext ctx, ConfigDirective d, Action bind)
    {
        if (!ctx.Upstream!.Seen.Add(d.Name))
        {
            throw BindContext.DirectiveError(d, "is duplicate");
        }

        bind();
    }

    /// <summary>nginx: "load balancing method redefined" when a second method is given.</summary>
    private static void Balancing(BindContext ctx, ConfigDirective d, UpstreamBalancing method)
    {
        if (!ctx.Upstream!.Seen.Add("balancing"))
        {
            throw BindContext.Error(d, "load balancing method redefined");
        }

        ctx.Upstream.Balancing = method;
    }

    private static void BindUpstream(BindContext ctx, ConfigDirective d)
    {
        string name = d.Args[0];
        if (ctx.Http!.Upstreams.ContainsKey(name))
        {
            throw BindContext.Error(d, $"duplicate upstream \"{name}\"");
        }

        var upstream = new UpstreamBuilder { Name = name, Where = d.Where };
        ctx.Http.Upstreams[name] = upstream;
        DirectiveTable.BindAll(ctx.Enter(DirectiveContext.Upstream, upstream: upstream), d.Block!);
        if (upstream.Servers.Count == 0 && !d.Truncated)
        {
            throw new ConfigException("no servers are inside upstream", d.Where with { Line = d.EndLine });
        }
    }

    /// <summary><c>server ADDRESS [weight=N] [max_fails=N] [fail_timeout=TIME] [backup] [down]</c>.</summary>
    private static void BindServer(BindContext ctx, ConfigDirective d)
    {
        string address = d.Args[0];
        int weight = 1, maxFails = 1;
        TimeSpan failTimeout = TimeSpan.FromSeconds(10);
        bool backup = false, down = false;
        for (int i = 1; i < d.Args.Count; i++)
        {
            string p = d.Args[i];
            if (p.StartsWith("weight=", StringComparison.Ordinal))
            {
                weight = Values.Int(p.AsSpan(7)) is int w and > 0 ? w : throw Invalid(d, p);
            }
            else if (p.StartsWith("max_fails=", StringComparison.Ordinal))
            {
                maxFails = Values.Int(p.AsSpan(10)) ?? throw Invalid(d, p);
            }
            else if (p.StartsWith("fail_timeout=", StringComparison.Ordinal))
            {
                failTimeout = Values.Time(p.AsSpan(13), seconds: true) ?? throw Invalid(d, p);
            }
            else if (p == "backup")
            {
                backup = true;
            }
            else if (p == "down")
            {
                down = true;
            }
            else
            {
                throw Invalid(d, p);
            }
        }

        if (backup && ctx.Upstream!.Balancing is UpstreamBalancing.Hash or UpstreamBalancing.IpHash)
        {
            throw BindContext.Error(d, "balancing method does not support parameter \"backup\"");
        }

        ctx.Upstream!.Servers.Add(new UpstreamServerConfig(address, weight, maxFails, failTimeout, backup, down, d.Where));
    }

    private static ConfigException Invalid(ConfigDirective d, string p) => BindContext.Error(d, $"invalid parameter \"{p}\"");
}
