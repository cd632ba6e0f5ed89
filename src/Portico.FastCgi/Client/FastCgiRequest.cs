using System.IO.Pipelines;
using Portico.FastCgi.Protocol;

namespace Portico.FastCgi.Client;

/// <summary>One FastCGI RESPONDER request: CGI params, an optional streamed body and a stderr sink.</summary>
public sealed class FastCgiRequest
{
    private List<NameValuePair>? _params;
    private readonly int _paramsCapacity;

    public FastCgiRequest()
    {
    }

    /// <summary>A request with room for <paramref name="paramsCapacity"/> params before the list grows.</summary>
    public FastCgiRequest(int paramsCapacity) => _paramsCapacity = paramsCapacity;

    /// <summary>Params already encoded, sent before <see cref="Params"/>. The caller owns (and disposes) the block.</summary>
    public FastCgiParamBlock? ParamBlock { get; set; }

    /// <summary>CGI params in send order, after <see cref="ParamBlock"/>. Each pair must encode to at most 65535 bytes.</summary>
    public List<NameValuePair> Params => _params ??= new List<NameValuePair>(_paramsCapacity);

    /// <summary>The params list, or an empty one when none was added (made on first use: a request sent as a
    /// <see cref="ParamBlock"/> alone needs none).</summary>
    internal IReadOnlyList<NameValuePair> ParamsOrEmpty => (IReadOnlyList<NameValuePair>?)_params ?? [];

    /// <summary>Request body, streamed as FCGI_STDIN. Set at most one of <see cref="Body"/> and <see cref="BodyReader"/>.</summary>
    public Stream? Body { get; set; }

    /// <summary>Request body as a pipe, streamed as FCGI_STDIN.</summary>
    public PipeReader? BodyReader { get; set; }

    /// <summary>Called once per line of FCGI_STDERR (php error_log() output, "PHP message: ..."), on the reading thread.</summary>
    public Action<string>? StderrLine { get; set; }

    public FastCgiRequest Add(string name, string value)
    {
        Params.Add(new NameValuePair(name, value));
        return this;
    }

    public FastCgiRequest Add(ReadOnlyMemory<byte> name, ReadOnlyMemory<byte> value)
    {
        Params.Add(new NameValuePair(name, value));
        return this;
    }
}
