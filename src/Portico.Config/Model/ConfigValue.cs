namespace Portico.Config.Model;

/// <summary>
/// A directive argument that may contain variables (<c>$uri</c>, <c>${host}</c>, <c>$1</c>).
/// The runtime compiles <see cref="Text"/> once at load; compile errors cite <see cref="Where"/>.
/// </summary>
public sealed record ConfigValue(string Text, SourceLocation Where)
{
    /// <summary>True when the text contains a <c>$</c> that starts a variable reference.</summary>
    public bool HasVariables => Text.Contains('$', StringComparison.Ordinal);

    public override string ToString() => Text;
}
