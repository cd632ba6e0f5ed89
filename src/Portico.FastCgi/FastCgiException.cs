using Portico.FastCgi.Protocol;

namespace Portico.FastCgi;

/// <summary>Every failure of a FastCGI exchange; the connection that saw it is never reused.</summary>
public sealed class FastCgiException : IOException
{
    public FastCgiException(FastCgiErrorKind kind, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Kind = kind;
    }

    public FastCgiErrorKind Kind { get; }

    /// <summary>Set when <see cref="Kind"/> is <see cref="FastCgiErrorKind.RequestRejected"/>.</summary>
    public FastCgiProtocolStatus? ProtocolStatus { get; init; }

    /// <summary>True for the kinds a server maps to 504 Gateway Timeout rather than 502.</summary>
    public bool IsTimeout => Kind is FastCgiErrorKind.ConnectTimeout or FastCgiErrorKind.SendTimeout or FastCgiErrorKind.ReadTimeout;
}
