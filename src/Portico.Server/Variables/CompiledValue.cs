using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;
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

    // UTF-8 of each literal part (null for variables) and of the constant, made once for TryWriteUtf8.
    private readonly byte[]?[] _literalUtf8;
    private readonly byte[] _constantUtf8;
    private readonly VariableRef[] _variables;

    // A value that is one variable and nothing else (most fastcgi_param values): written without the parts loop.
    private readonly VariableRef _single;
    private readonly bool _isSingle;

    private CompiledValue(ValuePart[] parts, VariableClock clock, string constant)
    {
        _parts = parts;
        _clock = clock;
        _constant = constant;
        _literalUtf8 = Array.ConvertAll(parts, static p => p.Literal is { } text ? Encoding.UTF8.GetBytes(text) : null);
        _constantUtf8 = parts.Length == 0 ? Encoding.UTF8.GetBytes(constant) : [];
        _variables = Array.ConvertAll(parts, static p => p.Variable);
        if (parts is [{ Literal: null } only])
        {
            _single = only.Variable;
            _isSingle = true;
        }
    }

    /// <summary>True when the value has no variables: <see cref="Constant"/> is its text.</summary>
    public bool IsConstant => _parts.Length == 0;

    /// <summary>The text when <see cref="IsConstant"/>; otherwise the source text.</summary>
    public string Constant => _constant;

    /// <summary>The variable when the value is that one variable and nothing else (most <c>fastcgi_param</c> values), so a
    /// caller writing many values can format it without going through <see cref="TryWriteUtf8"/>.</summary>
    public bool TryGetSingle(out VariableRef variable)
    {
        variable = _single;
        return _isSingle;
    }

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
    /// Writes the value as UTF-8 straight into <paramref name="destination"/>, the same bytes as the UTF-8 of
    /// <see cref="Evaluate"/>: literals are encoded once at load, addresses, ports and numbers are formatted in
    /// place, other variables narrowed from their string in one pass. False when it does not fit (nothing
    /// usable is written then). Spares the string per value, and the concatenation of several parts, on hot
    /// paths (FastCGI params).
    /// </summary>
    public bool TryWriteUtf8(RequestContext context, Span<byte> destination, out int written)
    {
        if (_isSingle)
        {
            return TryWriteVariable(_single, context, _clock, destination, out written);
        }

        var literals = _literalUtf8;
        if (literals.Length == 0)
        {
            var fits = _constantUtf8.AsSpan().TryCopyTo(destination);
            written = fits ? _constantUtf8.Length : 0;
            return fits;
        }

        var position = 0;
        for (var i = 0; i < literals.Length; i++)
        {
            var rest = destination[position..];
            int n;
            bool fits;
            if (literals[i] is { } literal)
            {
                fits = literal.AsSpan().TryCopyTo(rest);
                n = literal.Length;
            }
            else if (_variables[i].IsAsciiSafe)
            {
                fits = _variables[i].TryFormatAscii(context, _clock, rest, out n);
            }
            else if (_variables[i].Get(context, _clock) is { } text)
            {
                fits = TryWriteString(text, rest, out n);
            }
            else
            {
                continue; // not found: contributes nothing, as in Evaluate
            }

            if (!fits)
            {
                written = 0;
                return false;
            }

            position += n;
        }

        written = position;
        return true;
    }

    /// <summary>
    /// One variable's value as UTF-8 into <paramref name="destination"/> (a value that is one variable, or a caller that
    /// formats such values itself, the FastCGI param program). A variable not found writes nothing and succeeds;
    /// false when the value does not fit (nothing usable is written then).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool TryWriteVariable(in VariableRef variable, RequestContext context, VariableClock clock, Span<byte> destination, out int written)
    {
        bool fitted;
        if (variable.IsAsciiSafe)
        {
            fitted = variable.TryFormatAscii(context, clock, destination, out written);
        }
        else if (variable.Get(context, clock) is { } text)
        {
            fitted = TryWriteString(text, destination, out written);
        }
        else
        {
            written = 0; // not found: contributes nothing, as in Evaluate
            return true;
        }

        if (!fitted)
        {
            written = 0;
        }

        return fitted;
    }

    /// <summary>ASCII, the usual case, is narrowed in one pass; anything else is written again as UTF-8.</summary>
    private static bool TryWriteString(string text, Span<byte> destination, out int written) =>
        Ascii.FromUtf16(text, destination, out written) switch
        {
            OperationStatus.Done => true,
            OperationStatus.DestinationTooSmall => false,
            _ => Encoding.UTF8.TryGetBytes(text, destination, out written),
        };

    private string? Part(in ValuePart part, RequestContext context) => part.Literal ?? part.Variable.Get(context, _clock);

    public override string ToString() => _constant;
}
