using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Portico.Server.Compression;

/// <summary>
/// The response body feature of a request in a config that uses gzip: Kestrel's, behind <see cref="GzipBodyWriter"/>.
/// Every handler writes through it (the pipe, the stream and the completion), so the filter's choice applies to
/// static files, FastCGI output, error pages and <c>return</c> text alike.
/// </summary>
internal sealed class GzipResponseBody : IHttpResponseBodyFeature
{
    private readonly IHttpResponseBodyFeature _inner;
    private Stream? _stream;

    public GzipResponseBody(IHttpResponseBodyFeature inner, bool headerOnly, Action abort)
    {
        _inner = inner;
        BodyWriter = new GzipBodyWriter(inner, headerOnly, abort);
    }

    public GzipBodyWriter BodyWriter { get; }

    public Stream Stream => _stream ??= BodyWriter.AsStream(leaveOpen: true);

    public PipeWriter Writer => BodyWriter;

    public void DisableBuffering() => _inner.DisableBuffering();

    public Task StartAsync(CancellationToken cancellationToken = default) => BodyWriter.StartAsync();

    public Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default) =>
        SendFileFallback.SendFileAsync(Stream, path, offset, count, cancellationToken);

    public Task CompleteAsync() => BodyWriter.FinishAsync();
}
