using Microsoft.AspNetCore.Http;

namespace Portico.Server.FastCgi;

/// <summary>
/// The client's request body read under nginx's client_body_timeout
/// (https://nginx.org/en/docs/http/ngx_http_core_module.html#client_body_timeout): "set only for a period between
/// two successive read operations, not for the transmission of the whole request body. If a client does not
/// transmit anything within this time, the request is terminated with the 408". So the timer runs only while a read
/// waits, and stops when it returns; time spent elsewhere (sending to a backend) never counts. A read that times out
/// throws Kestrel's 408 BadHttpRequestException, which the pipeline logs as nginx does and answers by closing the
/// connection. Zero (or an infinite value) reads without a timer. Disposing it never disposes Kestrel's body.
/// </summary>
internal sealed class ClientBodyTimeoutStream(Stream body, TimeSpan timeout) : Portico.FastCgi.ForwardReadStream
{
    public const string TimedOut = "Reading the request body timed out (client_body_timeout).";

    // One source for all reads, re-armed by each; once it fires the body is over (the request ends in a 408).
    private CancellationTokenSource? _timer;

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        timeout > TimeSpan.Zero && timeout != Timeout.InfiniteTimeSpan ? TimedReadAsync(buffer, cancellationToken) : body.ReadAsync(buffer, cancellationToken);

    private async ValueTask<int> TimedReadAsync(Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var timer = _timer ??= new CancellationTokenSource();
        using var linked = cancellationToken.CanBeCanceled ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token) : null;
        timer.CancelAfter(timeout);
        try
        {
            return await body.ReadAsync(buffer, linked?.Token ?? timer.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (timer.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new BadHttpRequestException(TimedOut, StatusCodes.Status408RequestTimeout, ex);
        }
        finally
        {
            if (!timer.IsCancellationRequested)
            {
                timer.CancelAfter(Timeout.Infinite);
            }
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    // The FastCGI client reads asynchronously; a synchronous read would have no timer to honour.
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _timer?.Dispose();
        }

        base.Dispose(disposing);
    }
}
