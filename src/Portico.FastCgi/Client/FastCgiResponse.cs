using Portico.FastCgi.Protocol;

namespace Portico.FastCgi.Client;

/// <summary>
/// A FastCGI response whose header block has been parsed. Read <see cref="Body"/> to the end and dispose:
/// only then can a kept-alive connection be reused.
/// </summary>
public sealed class FastCgiResponse : IAsyncDisposable, IDisposable
{
    private readonly FastCgiExchange _exchange;

    internal FastCgiResponse(int statusCode, string? reasonPhrase, IReadOnlyList<KeyValuePair<string, string>> headers, Stream body, FastCgiExchange exchange)
    {
        StatusCode = statusCode;
        ReasonPhrase = reasonPhrase;
        Headers = headers;
        Body = body;
        _exchange = exchange;
    }

    /// <summary>From the CGI "Status" header; else 302 when "Location" is present (as nginx); else 200.</summary>
    public int StatusCode { get; }

    /// <summary>Reason phrase from "Status: 404 Not Found", if given.</summary>
    public string? ReasonPhrase { get; }

    /// <summary>Response headers in received order, without "Status". Values are Latin-1 decoded.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; }

    /// <summary>STDOUT after the header block. Throws <see cref="FastCgiException"/> if the backend fails mid-body.</summary>
    public Stream Body { get; }

    /// <summary>Application status and protocol status, once the body was read to the end.</summary>
    public EndRequest? EndRequest => _exchange.EndRequest;

    /// <summary>First value of a header, case-insensitive, or null.</summary>
    public string? GetHeader(string name)
    {
        // Indexed, not foreach: an interface's enumerator is an allocation per call.
        var headers = Headers;
        for (var i = 0; i < headers.Count; i++)
        {
            if (headers[i].Key.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return headers[i].Value;
            }
        }

        return null;
    }

    public ValueTask DisposeAsync() => Body.DisposeAsync();

    public void Dispose() => Body.Dispose();
}
