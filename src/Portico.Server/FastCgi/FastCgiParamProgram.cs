using System.Text;
using Portico.Config.Model;
using Portico.FastCgi.Client;
using Portico.FastCgi.Protocol;
using Portico.Server.Phases;
using Portico.Server.Variables;

namespace Portico.Server.FastCgi;

/// <summary>
/// A location's <c>fastcgi_param</c> list compiled at load into FastCGI name-value form (spec section 3.4).
/// Consecutive constant pairs (GATEWAY_INTERFACE, SERVER_SOFTWARE, REDIRECT_STATUS ...) are encoded once and
/// copied as one run; a pair with variables has its name and length fields laid out once, and its value is
/// formatted straight after them. Per request that is one room check for the list, one copy per run or name,
/// and one format per value: the params were the largest piece of Portico's own work on a PHP request.
/// </summary>
internal sealed class FastCgiParamProgram
{
    // Kept free after a value: a value of 128 bytes or more needs a 4-byte length field instead of the 1 laid out.
    private const int LongValueField = 3;

    private readonly Step[] _steps;
    private readonly VariableClock _clock;

    // What the list needs before any value: the runs, the names, and the spare bytes for long values.
    private readonly int _fixedRoom;

    private FastCgiParamProgram(Step[] steps, int fixedRoom, VariableClock clock)
    {
        _steps = steps;
        _clock = clock;
        _fixedRoom = fixedRoom;
    }

    public static FastCgiParamProgram Compile(IReadOnlyList<FastCgiParamConfig> source, VariableScope scope)
    {
        var steps = new List<Step>();
        var run = new List<byte>();
        int runPairs = 0, runLargest = 0, fixedRoom = 0;

        void EndRun()
        {
            if (runPairs > 0)
            {
                steps.Add(new Step([.. run], null, default, StepKind.Run, [], 0, false, runPairs, runLargest));
                fixedRoom += run.Count;
            }

            run.Clear();
            runPairs = 0;
            runLargest = 0;
        }

        foreach (var param in source)
        {
            var name = Encoding.UTF8.GetBytes(param.Name);
            var value = CompiledValue.Compile(param.Value, scope);
            if (value.IsConstant)
            {
                var text = Encoding.UTF8.GetBytes(value.Constant);
                if (param.IfNotEmpty && text.Length == 0)
                {
                    // ngx_http_fastcgi_create_request skips an empty if_not_empty value; a constant one never changes.
                    continue;
                }

                var pair = new byte[NameValueCodec.LengthOfLength(name.Length) + NameValueCodec.LengthOfLength(text.Length) + name.Length + text.Length];
                var at = NameValueCodec.WriteLength(name.Length, pair);
                at += NameValueCodec.WriteLength(text.Length, pair.AsSpan(at));
                name.CopyTo(pair, at);
                text.CopyTo(pair, at + name.Length);
                run.AddRange(pair);
                runPairs++;
                runLargest = Math.Max(runLargest, pair.Length);
                continue;
            }

            EndRun();

            // The name's length field, one byte for the value's (rewritten once the value is known), then the name.
            var nameField = NameValueCodec.LengthOfLength(name.Length);
            var prefix = new byte[nameField + 1 + name.Length];
            NameValueCodec.WriteLength(name.Length, prefix);
            name.CopyTo(prefix, nameField + 1);
            var kind = value.TryGetSingle(out var single) ? StepKind.Variable : StepKind.Value;
            steps.Add(new Step(prefix, value, single, kind, name, nameField, param.IfNotEmpty, 1, 0));
            fixedRoom += prefix.Length + LongValueField;
        }

        EndRun();
        return new FastCgiParamProgram([.. steps], fixedRoom, scope.Clock);
    }

    /// <summary>Appends this request's pairs to <paramref name="block"/>.</summary>
    public void WriteTo(RequestContext ctx, FastCgiParamBlock block)
    {
        var room = block.GetFreeRoom(_fixedRoom);
        int position = 0, pairs = 0, largest = 0;
        var steps = _steps;
        for (var i = 0; i < steps.Length; i++)
        {
            ref readonly var step = ref steps[i];
            var bytes = step.Bytes;
            if (room.Length - position < bytes.Length + LongValueField)
            {
                // Values took the room the names were counted in: the pairs so far are committed, the block grows.
                block.CommitEncoded(position, pairs, largest);
                room = block.GetFreeRoom(_fixedRoom);
                position = pairs = largest = 0;
            }

            if (step.Value is not { } value)
            {
                bytes.CopyTo(room[position..]);
                position += bytes.Length;
                pairs += step.Pairs;
                largest = Math.Max(largest, step.Largest);
                continue;
            }

            bytes.CopyTo(room[position..]);
            var valueAt = position + bytes.Length;

            // A value that is one variable is formatted here, without going through its CompiledValue.
            var destination = room[valueAt..^LongValueField];
            var fitted = step.Kind == StepKind.Variable
                ? CompiledValue.TryWriteVariable(step.Single, ctx, _clock, destination, out var length)
                : value.TryWriteUtf8(ctx, destination, out length);
            if (!fitted)
            {
                // A value longer than the room left (a long URI): the pairs so far are committed, this one goes
                // through a string, and the rest continue in the grown block.
                block.CommitEncoded(position, pairs, largest);
                var evaluated = value.Evaluate(ctx);
                if (!step.IfNotEmpty || evaluated.Length > 0)
                {
                    block.Add(step.Name, evaluated);
                }

                room = block.GetFreeRoom(_fixedRoom);
                position = pairs = largest = 0;
                continue;
            }

            if (length == 0 && step.IfNotEmpty)
            {
                continue;
            }

            var valueField = position + step.NameField;
            if (length < 0x80)
            {
                room[valueField] = (byte)length;
            }
            else
            {
                // Spec section 3.4: a length of 128 or more takes four bytes, high bit set; name and value move right.
                room.Slice(valueField + 1, bytes.Length - step.NameField - 1 + length).CopyTo(room[(valueField + 4)..]);
                NameValueCodec.WriteLength(length, room[valueField..]);
                length += LongValueField;
            }

            var pair = bytes.Length + length;
            position += pair;
            pairs++;
            largest = Math.Max(largest, pair);
        }

        block.CommitEncoded(position, pairs, largest);
    }

    private enum StepKind : byte
    {
        /// <summary>Encoded constant pairs, copied as they are.</summary>
        Run,

        /// <summary>One variable and nothing else.</summary>
        Variable,

        /// <summary>Anything else with variables (text and variables mixed, or several variables).</summary>
        Value,
    }

    /// <summary>A run of encoded constant pairs (<see cref="Value"/> null), or one pair with variables whose
    /// <see cref="Bytes"/> are its name's length field, a 1-byte value length and the name.</summary>
    private readonly record struct Step(byte[] Bytes, CompiledValue? Value, VariableRef Single, StepKind Kind, byte[] Name, int NameField, bool IfNotEmpty, int Pairs, int Largest);
}
