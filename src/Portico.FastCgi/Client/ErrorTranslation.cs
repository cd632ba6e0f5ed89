using System.Net.Sockets;

namespace Portico.FastCgi.Client;

/// <summary>Maps socket, pipe and cancellation failures to <see cref="FastCgiException"/> kinds.</summary>
internal static class ErrorTranslation
{
    /// <summary>Returns the exception to throw, or null to rethrow the original (caller cancellation,
    /// caller body stream failures).</summary>
    public static FastCgiException? Translate(Exception exception, IoDeadline deadline, FastCgiErrorKind timeoutKind, CancellationToken callerToken, FastCgiEndPoint endPoint)
    {
        switch (exception)
        {
            case FastCgiException:
                return null;
            case OperationCanceledException when deadline.Expired && !callerToken.IsCancellationRequested:
                return new FastCgiException(timeoutKind, $"FastCGI backend {endPoint}: {Describe(timeoutKind)}.", exception);
            case OperationCanceledException:
                return null;
            case IOException or SocketException or ObjectDisposedException:
                return new FastCgiException(FastCgiErrorKind.BackendClosed, $"FastCGI backend {endPoint} connection failed: {exception.Message}", exception);
            default:
                return null;
        }
    }

    private static string Describe(FastCgiErrorKind kind) => kind switch
    {
        FastCgiErrorKind.SendTimeout => "timed out while sending the request",
        FastCgiErrorKind.ReadTimeout => "timed out while reading the response",
        _ => "timed out",
    };
}
