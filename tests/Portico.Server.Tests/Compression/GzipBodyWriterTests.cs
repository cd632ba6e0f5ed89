using System.Buffers;
using System.IO.Compression;
using System.IO.Pipelines;
using System.Text;
using Microsoft.AspNetCore.Http.Features;
using Portico.Server.Compression;

namespace Portico.Server.Tests.Compression;

/// <summary>
/// The body writer between the handlers and Kestrel: nothing reaches the response before the header work chose a
/// mode (run by the response's start, as Kestrel runs OnStarting); then bytes pass through as they are, or compressed
/// with a flush that makes what was written so far decodable and an end that writes the trailer.
/// </summary>
public class GzipBodyWriterTests
{
    private sealed class FakeResponseBody : IHttpResponseBodyFeature
    {
        private readonly Pipe _pipe = new(new PipeOptions(pauseWriterThreshold: 0));

        public Action? OnStarting { get; set; }

        public int Starts { get; private set; }

        public bool Completed { get; private set; }

        public Stream Stream => throw new NotSupportedException();

        public PipeWriter Writer => _pipe.Writer;

        public void DisableBuffering()
        {
        }

        public Task StartAsync(CancellationToken cancellationToken = default)
        {
            if (Starts++ == 0)
            {
                OnStarting?.Invoke();
            }

            return Task.CompletedTask;
        }

        public Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public async Task CompleteAsync()
        {
            Completed = true;
            await _pipe.Writer.CompleteAsync();
        }

        /// <summary>What the response got so far (flushed bytes).</summary>
        public async Task<byte[]> ReadAvailableAsync()
        {
            var result = await _pipe.Reader.ReadAsync();
            var bytes = result.Buffer.ToArray();
            _pipe.Reader.AdvanceTo(result.Buffer.End);
            return bytes;
        }
    }

    private static readonly byte[] s_text = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, 2000).Select(i => $"line {i}\n")));

    [Fact]
    public async Task Plain_when_the_header_work_does_not_choose_gzip()
    {
        var inner = new FakeResponseBody();
        var writer = new GzipBodyWriter(inner, headerOnly: false, abort: () => { });
        var couldCompress = false;
        inner.OnStarting = () => couldCompress = writer.CanCompress;
        writer.Write<byte>(s_text);
        Assert.True(couldCompress);
        Assert.Equal(1, inner.Starts);
        Assert.False(writer.CanCompress);
        await writer.FinishAsync();
        Assert.True(inner.Completed);
        Assert.Equal(s_text, await inner.ReadAvailableAsync());
        Assert.False(writer.Compressing);
    }

    [Fact]
    public async Task Compressed_when_chosen_at_the_start_with_the_trailer_at_the_end()
    {
        var inner = new FakeResponseBody();
        var writer = new GzipBodyWriter(inner, headerOnly: false, abort: () => { });
        inner.OnStarting = () => writer.Compress(6);
        foreach (var part in s_text.Chunk(1000))
        {
            writer.Write<byte>(part);
        }

        await writer.FinishAsync();
        var sent = await inner.ReadAvailableAsync();
        Assert.Equal(s_text, Gunzip(sent));
        Assert.Equal(s_text.Length, writer.BytesIn);
        Assert.Equal(sent.Length, writer.BytesOut);
        Assert.True(sent.Length < s_text.Length / 3, $"{sent.Length} bytes of gzip");
    }

    [Fact]
    public async Task A_flush_makes_what_was_written_decodable_before_the_end()
    {
        var inner = new FakeResponseBody();
        var writer = new GzipBodyWriter(inner, headerOnly: false, abort: () => { });
        inner.OnStarting = () => writer.Compress(1);
        writer.Write<byte>(s_text.AsSpan(0, 500));
        await writer.FlushAsync();
        var soFar = await inner.ReadAvailableAsync();
        using (var partial = new GZipStream(new MemoryStream(soFar), CompressionMode.Decompress))
        {
            var first = new byte[500];
            partial.ReadExactly(first);
            Assert.Equal(s_text.AsSpan(0, 500).ToArray(), first);
        }

        writer.Write<byte>(s_text.AsSpan(500));
        await writer.FinishAsync();
        Assert.Equal(s_text, Gunzip([.. soFar, .. await inner.ReadAvailableAsync()]));
    }

    [Fact]
    public async Task An_empty_body_is_not_started_by_the_end()
    {
        var inner = new FakeResponseBody();
        var writer = new GzipBodyWriter(inner, headerOnly: false, abort: () => { });
        inner.OnStarting = () => writer.Compress(1);
        await writer.FinishAsync();
        Assert.Equal(0, inner.Starts);
        Assert.True(inner.Completed);
        Assert.False(writer.CanCompress);
        Assert.False(writer.Compressing);
    }

    [Fact]
    public async Task A_head_request_settles_the_head_at_the_end_and_sends_no_gzip_bytes()
    {
        var inner = new FakeResponseBody();
        var writer = new GzipBodyWriter(inner, headerOnly: true, abort: () => { });
        inner.OnStarting = () => writer.Compress(1);
        await writer.FinishAsync();
        Assert.Equal(1, inner.Starts);
        Assert.True(writer.Compressing);
        Assert.Empty(await inner.ReadAvailableAsync());
    }

    [Fact]
    public async Task After_an_abort_the_deflater_is_freed_and_writes_nothing()
    {
        var inner = new FakeResponseBody();
        var writer = new GzipBodyWriter(inner, headerOnly: false, abort: () => { });
        inner.OnStarting = () => writer.Compress(1);
        writer.Write<byte>(s_text);
        var before = writer.BytesOut;
        writer.Dispose();
        Assert.Equal(before, writer.BytesOut);
        await writer.FinishAsync(); // already finished: no trailer, no second completion of the inner body
        Assert.False(inner.Completed);
    }

    [Fact]
    public async Task A_body_shorter_than_its_content_length_is_cut_without_a_trailer()
    {
        var inner = new FakeResponseBody();
        var aborted = false;
        var writer = new GzipBodyWriter(inner, headerOnly: false, abort: () => aborted = true);
        inner.OnStarting = () =>
        {
            writer.DeclaredLength = s_text.Length;
            writer.Compress(1);
        };
        writer.Write<byte>(s_text.AsSpan(0, 1000));
        await writer.FinishAsync();
        Assert.True(aborted);
        Assert.False(inner.Completed);
    }

    [Fact]
    public async Task What_a_body_sends_beyond_its_content_length_is_dropped()
    {
        var inner = new FakeResponseBody();
        var writer = new GzipBodyWriter(inner, headerOnly: false, abort: () => Assert.Fail("aborted"));
        inner.OnStarting = () =>
        {
            writer.DeclaredLength = 1000;
            writer.Compress(1);
        };
        writer.Write<byte>(s_text);
        await writer.FinishAsync();
        Assert.Equal(s_text.AsSpan(0, 1000).ToArray(), Gunzip(await inner.ReadAvailableAsync()));
    }

    [Fact]
    public async Task A_start_the_writer_did_not_make_cannot_choose_gzip()
    {
        var inner = new FakeResponseBody();
        var writer = new GzipBodyWriter(inner, headerOnly: false, abort: () => { });
        var couldCompress = true;
        inner.OnStarting = () => couldCompress = writer.CanCompress;
        await inner.StartAsync(); // as Kestrel starts a response nobody wrote through the writer
        Assert.False(couldCompress);
    }

    [Fact]
    public async Task An_empty_compressed_body_is_still_a_gzip_stream()
    {
        var inner = new FakeResponseBody();
        var writer = new GzipBodyWriter(inner, headerOnly: false, abort: () => { });
        inner.OnStarting = () => writer.Compress(1);
        await writer.FlushAsync(); // the head goes out, no body yet: no deflater
        Assert.Equal(0, writer.BytesOut);
        await writer.FinishAsync();
        var sent = await inner.ReadAvailableAsync();
        Assert.Equal(20, sent.Length);
        Assert.Empty(Gunzip(sent));
    }

    private static byte[] Gunzip(byte[] gzip)
    {
        using var input = new GZipStream(new MemoryStream(gzip), CompressionMode.Decompress);
        using var output = new MemoryStream();
        input.CopyTo(output);
        return output.ToArray();
    }
}
