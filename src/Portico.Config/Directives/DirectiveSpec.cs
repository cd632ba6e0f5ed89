namespace Portico.Config.Directives;

/// <summary>
/// A directive's arity, as nginx's NGX_CONF_NOARGS/TAKE1../1MORE/2MORE/FLAG/BLOCK flags:
/// the number of arguments after the name, and whether it opens a block.
/// </summary>
internal readonly record struct Arity(int Min, int Max, bool Block = false)
{
    public static Arity NoArgs => new(0, 0);
    public static Arity Take1 => new(1, 1);
    public static Arity Take2 => new(2, 2);
    public static Arity Take12 => new(1, 2);
    public static Arity Take23 => new(2, 3);
    public static Arity Take123 => new(1, 3);
    public static Arity Take1234 => new(1, 4);
    public static Arity Flag => new(1, 1);
    public static Arity OneMore => new(1, int.MaxValue);
    public static Arity TwoMore => new(2, int.MaxValue);
    public static Arity BlockNoArgs => new(0, 0, true);
    public static Arity BlockTake1 => new(1, 1, true);
    public static Arity BlockTake12 => new(1, 2, true);

    public bool Accepts(int count) => count >= Min && count <= Max;
}

/// <summary>Applies one directive (already checked for context and arity) to the builders.</summary>
internal delegate void DirectiveBinder(BindContext ctx, Syntax.ConfigDirective d);

/// <summary>One row of the directive table.</summary>
internal sealed record DirectiveSpec(string Name, DirectiveContext Contexts, Arity Arity, DirectiveBinder Bind);
