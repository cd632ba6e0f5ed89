using Portico.Config.Model;
using Portico.Server.Phases;

namespace Portico.Server.Variables;

/// <summary>
/// A config string with variables, compiled once at load into a list of parts (literal text or a
/// variable getter). Evaluating it at request time walks that list; it never re-parses the text.
/// </summary>
internal sealed class CompiledValue
{
    private readonly ValuePart[] _parts;
    private readonly VariableClock _clock;
    private readonly string _constant;

    private CompiledValue(ValuePart[] parts, VariableClock clock, string constant)
    {
        _parts = parts;
        _clock = clock;
        _constant = constant;
    }

    /// <summary>True when the value has no variables: <see cref="Constant"/> is its text.</summary>
    public bool IsConstant => _parts.Length == 0;

    /// <summary>One variable that <see cref="TryFormatSingleAscii"/> can write as bytes (an address, a port, a number).</summary>
    public bool IsSingleAscii => _parts.Length == 1 && _parts[0].Literal is null && _parts[0].Variable.IsAsciiSafe;

    /// <summary>The text when <see cref="IsConstant"/>; otherwise the source text.</summary>
    public string Constant => _constant;

    /// <summary>The parts (for callers that need to know which variables are used).</summary>
    public ReadOnlySpan<ValuePart> Parts => _parts;

    /// <summary>
    /// Compiles <paramref name="value"/>. Throws <see cref="Portico.Config.ConfigException"/> with
    /// nginx's text ("unknown "foo" variable", "invalid variable name") at the value's location.
    /// </summary>
    public static CompiledValue Compile(ConfigValue value, VariableScope scope)
    {
        ArgumentNullException.ThrowIfNull(value);
        ArgumentNullException.ThrowIfNull(scope);
        if (!value.HasVariables)
        {
            return new CompiledValue([], scope.Clock, value.Text);
        }

        var parts = VariableParser.Parse(value.Text, value.Where, scope, VariableParser.Mode.Script);
        return new CompiledValue([.. parts], scope.Clock, value.Text);
    }

    /// <summary>The value for this request; a variable that is not found contributes "".</summary>
    public string Evaluate(RequestContext context)
    {
        var parts = _parts;
        if (parts.Length == 0)
        {
            return _constant;
        }

        if (parts.Length == 1)
        {
            return parts[0].Literal ?? parts[0].Variable.Get(context, _clock) ?? "";
        }

        if (parts.Length == 2)
        {
            return string.Concat(Part(parts[0], context), Part(parts[1], context));
        }

        if (parts.Length == 3)
        {
            return string.Concat(Part(parts[0], context), Part(parts[1], context), Part(parts[2], context));
        }

        var values = new string?[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            values[i] = Part(parts[i], context);
        }

        return string.Concat(values);
    }

    /// <summary>
    /// Writes the value as ASCII straight into <paramref name="destination"/> when it is one variable that can
    /// format itself so (addresses, ports, numbers); false when it is not, or does not fit: use
    /// <see cref="Evaluate"/> then. Spares a string per value on hot paths (FastCGI params, logs).
    /// </summary>
    public bool TryFormatSingleAscii(RequestContext context, Span<byte> destination, out int written)
    {
        if (IsSingleAscii)
        {
            return _parts[0].Variable.TryFormatAscii(context, _clock, destination, out written);
        }

        written = 0;
        return false;
    }

    private string? Part(in ValuePart part, RequestContext context) => part.Literal ?? part.Variable.Get(context, _clock);

    public override string ToString() => _constant;
}
