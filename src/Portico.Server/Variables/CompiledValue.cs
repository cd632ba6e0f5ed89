using Portico.Config.Model;
using Portico.Server.Phases;

namespace Portico.Server.Variables;

/// <summary>
/// A config string with variables, compiled once at load into a list of parts (literal text or a
/// variable getter). Evaluating it at request time walks that list; it never re-parses the text.
/// </summary>
internal sealed class CompiledValue
{
    // SKELETON: replaced by the Variables implementation.
    private readonly string _text;

    private CompiledValue(string text) => _text = text;

    /// <summary>True when the value has no variables: <see cref="Constant"/> is its text.</summary>
    public bool IsConstant => true;

    public string Constant => _text;

    public static CompiledValue Compile(ConfigValue value, VariableScope scope) => new(value.Text);

    public string Evaluate(RequestContext context) => _text;
}
