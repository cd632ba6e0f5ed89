namespace Portico.Server.Variables;

/// <summary>
/// What variable names are known where a value is compiled: the built-in table plus named
/// captures declared by regexes in the config (nginx registers those at load, so
/// <c>$sub</c> from <c>server_name ~^(?&lt;sub&gt;.+)\.x$</c> is known everywhere).
/// </summary>
internal sealed class VariableScope
{
    // SKELETON: replaced by the Variables implementation.
    public static VariableScope Default { get; } = new();

    public VariableScope WithNamedCaptures(IEnumerable<string> names) => this;
}
