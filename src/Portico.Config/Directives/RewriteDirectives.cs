using Portico.Config.Model;
using Portico.Config.Syntax;

namespace Portico.Config.Directives;

/// <summary>
/// ngx_http_rewrite_module (https://nginx.org/en/docs/http/ngx_http_rewrite_module.html).
/// <c>return</c> and <c>set</c> are supported; <c>rewrite</c>, <c>if</c>, <c>break</c> are recognised and rejected
/// (see <see cref="UnsupportedDirectives"/>).
/// </summary>
internal static class RewriteDirectives
{
    public static IEnumerable<DirectiveSpec> All =>
    [
        new("return", DirectiveContext.ServerLocation, Arity.Take12, BindReturn),
        new("set", DirectiveContext.ServerLocation, Arity.Take2, BindSet),
    ];

    private static void BindSet(BindContext ctx, ConfigDirective d)
    {
        // ngx_http_rewrite_set: the first argument is a variable, "$" and a name.
        string variable = d.Args[0];
        if (variable.Length < 2 || variable[0] != '$')
        {
            throw BindContext.Error(d, $"invalid variable name \"{variable}\"");
        }

        (ctx.Location?.Rewrites ?? ctx.Server!.Rewrites).Add(new SetInstruction(variable[1..].ToLowerInvariant(), ctx.Value(d, 1), d.Where));
    }

    private static void BindReturn(BindContext ctx, ConfigDirective d)
    {
        ReturnInstruction instruction;
        string first = d.Args[0];
        if (d.Args.Count == 1 && (first.StartsWith("http://", StringComparison.Ordinal)
            || first.StartsWith("https://", StringComparison.Ordinal)
            || first.StartsWith("$scheme", StringComparison.Ordinal)))
        {
            instruction = new ReturnInstruction(302, ctx.Value(d, 0), d.Where);
        }
        else
        {
            int code = Values.Int(first) is int c and <= 999 ? c : throw BindContext.Error(d, $"invalid return code \"{first}\"");
            instruction = new ReturnInstruction(code, d.Args.Count == 2 ? ctx.Value(d, 1) : null, d.Where);
        }

        (ctx.Location?.Rewrites ?? ctx.Server!.Rewrites).Add(instruction);
    }
}
