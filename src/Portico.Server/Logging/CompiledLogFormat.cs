using System.Buffers;
using System.Text;
using Portico.Config;
using Portico.Config.Model;
using Portico.Server.Phases;
using Portico.Server.Variables;

namespace Portico.Server.Logging;

/// <summary>
/// A <c>log_format</c> compiled at load into literal UTF-8 segments and variable operations; a
/// line is produced by running the ops into a byte buffer, with no per-line parsing.
/// </summary>
internal sealed class CompiledLogFormat
{
    /// <summary>nginx's predefined format, byte for byte (ngx_http_log_module.c, ngx_http_combined_fmt).</summary>
    public const string CombinedText =
        "$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\"";

    private readonly Op[] _ops;
    private readonly VariableClock _clock;

    private CompiledLogFormat(string name, LogEscape escape, Op[] ops, VariableClock clock)
    {
        Name = name;
        Escape = escape;
        _ops = ops;
        _clock = clock;
    }

    public string Name { get; }

    public LogEscape Escape { get; }

    private readonly record struct Op(byte[]? Literal, VariableRef Variable);

    public static CompiledLogFormat Combined(VariableScope scope)
        => Compile(new LogFormatConfig("combined", LogEscape.Default, new ConfigValue(CombinedText, default)), scope);

    /// <summary>Compiles a format; unknown variables and bad <c>$</c> are <see cref="ConfigException"/>s with nginx's text.</summary>
    public static CompiledLogFormat Compile(LogFormatConfig config, VariableScope scope)
    {
        var parts = VariableParser.Parse(config.Format.Text, config.Format.Where is { File: not null } w ? w : null, scope, VariableParser.Mode.LogFormat);
        var ops = new List<Op>(parts.Count);
        foreach (var part in parts)
        {
            ops.Add(part.IsLiteral ? new Op(Encoding.UTF8.GetBytes(part.Literal!), default) : new Op(null, part.Variable));
        }

        return new CompiledLogFormat(config.Name, config.Escape, [.. ops], scope.Clock);
    }

    /// <summary>Compiles every <c>log_format</c>, adding the predefined <c>combined</c> when the model lacks it.</summary>
    public static Dictionary<string, CompiledLogFormat> CompileAll(IReadOnlyDictionary<string, LogFormatConfig> formats, VariableScope scope)
    {
        var result = new Dictionary<string, CompiledLogFormat>(StringComparer.Ordinal);
        foreach (var (name, format) in formats)
        {
            result[name] = Compile(format, scope);
        }

        if (!result.ContainsKey("combined"))
        {
            result["combined"] = Combined(scope);
        }

        return result;
    }

    /// <summary>Writes one whole line, ending with <c>\n</c>, into <paramref name="writer"/>.</summary>
    public void Write(RequestContext ctx, IBufferWriter<byte> writer)
    {
        foreach (var op in _ops)
        {
            if (op.Literal is { } literal)
            {
                writer.Write(literal);
                continue;
            }

            var variable = op.Variable;
            if (variable.IsAsciiSafe)
            {
                var span = writer.GetSpan(64);
                if (variable.TryFormatAscii(ctx, _clock, span, out var written))
                {
                    writer.Advance(written);
                    continue;
                }
            }

            if (variable.Kind == VariableKind.Request && ctx.Http.Request.Method.Length > 0)
            {
                // $request without building the concatenated string; escaping is per byte, so
                // escaping the pieces equals escaping the whole.
                var request = ctx.Http.Request;
                LogEscaper.Write(request.Method, Escape, writer);
                writer.Write(" "u8);
                LogEscaper.Write(ctx.RequestUri, Escape, writer);
                writer.Write(" "u8);
                LogEscaper.Write(VariableRef.Protocol(request.Protocol), Escape, writer);
                continue;
            }

            var value = variable.Get(ctx, _clock);
            if (value is null)
            {
                // ngx_http_log_variable prints "-" for a not-found value; the json and none
                // variants print nothing (ngx_http_log_json_variable, ..._unescaped_variable).
                if (Escape == LogEscape.Default)
                {
                    writer.GetSpan(1)[0] = (byte)'-';
                    writer.Advance(1);
                }

                continue;
            }

            LogEscaper.Write(value, Escape, writer);
        }

        writer.GetSpan(1)[0] = (byte)'\n';
        writer.Advance(1);
    }

    /// <summary>The line as a string (tests and diagnostics).</summary>
    public string Format(RequestContext ctx)
    {
        var buffer = new ArrayBufferWriter<byte>();
        Write(ctx, buffer);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
