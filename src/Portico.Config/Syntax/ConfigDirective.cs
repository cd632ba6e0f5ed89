namespace Portico.Config.Syntax;

/// <summary>
/// One parsed directive: <c>name args;</c> or <c>name args { ... }</c>. <see cref="Block"/> is null
/// for a directive ended by <c>;</c>. <see cref="Where"/> is the line of the terminating <c>;</c> or
/// <c>{</c>, which is the line nginx cites for errors about the directive.
/// </summary>
internal sealed record ConfigDirective(
    string Name,
    IReadOnlyList<string> Args,
    IReadOnlyList<ConfigDirective>? Block,
    SourceLocation Where)
{
    public bool IsBlock => Block is not null;

    /// <summary>The line of a block's closing <c>}</c>, where nginx reports checks made when a block ends.</summary>
    public int EndLine { get; init; }

    /// <summary>The block was cut short by a syntax error: checks made at its end are skipped.</summary>
    public bool Truncated { get; init; }
}
