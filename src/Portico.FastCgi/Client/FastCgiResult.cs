using System.Diagnostics.CodeAnalysis;

namespace Portico.FastCgi.Client;

/// <summary>
/// How a request sent with <see cref="FastCgiClient.TrySendAsync"/> ended its header phase: the parsed
/// <see cref="Response"/>, or the <see cref="Failure"/> that <see cref="FastCgiClient.SendAsync"/> would have thrown.
/// A proxy meets a backend that is down on every request; returned, the failure costs what a value costs.
/// </summary>
public readonly struct FastCgiResult
{
    internal FastCgiResult(FastCgiResponse response) => Response = response;

    internal FastCgiResult(FastCgiException failure) => Failure = failure;

    /// <summary>The response, when the backend answered with a complete CGI header block.</summary>
    public FastCgiResponse? Response { get; }

    /// <summary>Why there is no response: the connect was refused or timed out, the backend closed, timed out, or
    /// sent something that is not a FastCGI response.</summary>
    public FastCgiException? Failure { get; }

    [MemberNotNullWhen(true, nameof(Response))]
    [MemberNotNullWhen(false, nameof(Failure))]
    public bool Succeeded => Response is not null;
}
