using System.Buffers;
using System.IO.Pipelines;
using Microsoft.Win32.SafeHandles;

namespace Portico.Server.FastCgi;

/// <summary>
/// The part of a FastCGI response a client is slower to take than the backend gives, kept in a temp file
/// (<c>fastcgi_buffering on</c>: nginx "receives a response from the FastCGI server as soon as possible ... If the
/// whole response does not fit into memory, a part of it can be saved to a temporary file",
/// https://nginx.org/en/docs/http/ngx_http_fastcgi_module.html#fastcgi_buffering). What it is for: the backend's
/// connection, and the php-fpm worker it pins, go back as soon as the backend's output is read, not when a slow
/// client has taken the last byte.
/// <para>
/// The file is a queue: the backend's side appends (<see cref="AppendAsync"/>) while <see cref="DrainAsync"/> sends
/// from its head, each time the client has taken the previous flush. It holds at most
/// <c>fastcgi_max_temp_file_size</c> bytes not yet sent; when that is reached the backend's side waits until the
/// client has taken them, and the file is used again from its start (nginx: "the rest of the response is passed
/// synchronously"). The file is the server's alone (0600) and has no name once open.
/// </para>
/// </summary>
internal sealed class ResponseSpill : IAsyncDisposable
{
    private const int ChunkSize = 64 * 1024;

    private readonly FileStream _stream;
    private readonly SafeFileHandle _file;
    private readonly long _max;
    private readonly Lock _lock = new();
    private long _written;          // the end of the backend's bytes in the file
    private long _taken;            // the end of what the drain has read from the file
    private bool _ended;            // no more appends: the backend's output ended, or the spill is being disposed
    private bool _responseEnded;    // the backend's output ended (EndOfResponse): the drain sends the rest
    private PipeWriter? _client;
    private TaskCompletionSource? _dataWaiter;
    private TaskCompletionSource? _roomWaiter;
    private Task _drain = Task.CompletedTask;

    private ResponseSpill(FileStream stream, string path, long max)
    {
        _stream = stream;
        _file = stream.SafeFileHandle;
        Path = path;
        _max = max;
    }

    /// <summary>The temp file's path (unlinked once open, on Unix).</summary>
    public string Path { get; }

    /// <summary>The open temp file (its size and mode, for tests: it has no name to look it up by).</summary>
    internal SafeFileHandle FileHandle => _file;

    /// <summary>Set when the client went away, or a flush to it failed, while the file was sent.</summary>
    public bool ClientGone { get; private set; }

    /// <summary>Why the file could not be read back, when that ended the drain (<see cref="ClientGone"/> is set too).</summary>
    public IOException? ReadFailure { get; private set; }

    /// <summary>The bytes sent from the file to the client.</summary>
    public long Sent { get; private set; }

    /// <summary>
    /// Opens a temp file in <paramref name="directory"/> (made 0700 when missing, as nginx makes its temp paths), or
    /// returns null with the reason, nginx's way (<c>open() "..." failed (13: Permission denied)</c>).
    /// </summary>
    public static ResponseSpill? TryCreate(string directory, long max, out string? failure)
    {
        var path = System.IO.Path.Combine(directory, "portico-fastcgi-" + Guid.NewGuid().ToString("N"));
        try
        {
            // A response is the client's own data: the directory and the file are the server's alone (nginx: 0700, 0600).
            var options = new FileStreamOptions
            {
                Mode = FileMode.CreateNew,
                Access = FileAccess.ReadWrite,
                Share = FileShare.Read,
                BufferSize = 0,
            };
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(directory);
                options.Options = FileOptions.DeleteOnClose;
                failure = null;
                return new ResponseSpill(new FileStream(path, options), path, max);
            }

            Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            var stream = new FileStream(path, options);

            // Unlinked at once, as nginx unlinks its temp files (ngx_open_tempfile): open, it needs no name, and a
            // crash leaves nothing behind.
            File.Delete(path);
            failure = null;
            return new ResponseSpill(stream, path, max);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            failure = $"open() \"{path}\" failed ({ex.Message})";
            return null;
        }
    }

    /// <summary>Starts sending the file to the client once <paramref name="pendingFlush"/> (the flush that found the
    /// client's socket full) is done.</summary>
    public void Start(PipeWriter client, ValueTask<FlushResult> pendingFlush, CancellationToken aborted)
    {
        _client = client;
        _drain = DrainAsync(client, pendingFlush, aborted);
    }

    /// <summary>
    /// Appends the backend's bytes; waits while the file holds <c>fastcgi_max_temp_file_size</c> bytes the client has
    /// not taken. False when the client is gone (the bytes then go nowhere).
    /// </summary>
    public async ValueTask<bool> AppendAsync(ReadOnlyMemory<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            long at;
            int count;
            Task? room = null;
            lock (_lock)
            {
                if (ClientGone)
                {
                    return false;
                }

                if (_taken == _written)
                {
                    // All read back: the file starts over, so it never holds more than what is waiting.
                    _taken = _written = 0;
                }

                count = (int)Math.Min(bytes.Length, _max - _written);
                at = _written;
                if (count <= 0)
                {
                    _roomWaiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    room = _roomWaiter.Task;
                }
            }

            if (room is not null)
            {
                await room.ConfigureAwait(false);
                continue;
            }

            // Only the drain reads, and only below _written: the write needs no lock (nginx writes its temp file
            // on the worker's thread too; the page cache takes it).
            RandomAccess.Write(_file, bytes.Span[..count], at);
            bytes = bytes[count..];
            TaskCompletionSource? waiter;
            lock (_lock)
            {
                _written = at + count;
                waiter = _dataWaiter;
                _dataWaiter = null;
            }

            waiter?.TrySetResult();
        }

        return true;
    }

    /// <summary>The backend's output is all in the file: the drain ends once it has sent it.</summary>
    public void EndOfResponse()
    {
        _responseEnded = true;
        Stop();
    }

    /// <summary>Waits until everything in the file went to the client, or the client is gone.</summary>
    public Task DrainedAsync() => _drain;

    public async ValueTask DisposeAsync()
    {
        Stop();
        if (!_responseEnded)
        {
            // Ended early (the backend failed, the request was cut): a flush still waiting on the client must not
            // hold the request's end; the drain takes the cancelled flush as the client's end.
            _client?.CancelPendingFlush();
        }

        try
        {
            await _drain.ConfigureAwait(false);
        }
        finally
        {
            await _stream.DisposeAsync().ConfigureAwait(false);
        }
    }

    private void Stop()
    {
        TaskCompletionSource? waiter;
        lock (_lock)
        {
            _ended = true;
            waiter = _dataWaiter;
            _dataWaiter = null;
        }

        waiter?.TrySetResult();
    }

    private async Task DrainAsync(PipeWriter client, ValueTask<FlushResult> pendingFlush, CancellationToken aborted)
    {
        byte[]? buffer = null;
        try
        {
            var flushed = await pendingFlush.ConfigureAwait(false);
            buffer = ArrayPool<byte>.Shared.Rent(ChunkSize);
            while (!flushed.IsCompleted && !flushed.IsCanceled)
            {
                long at;
                int count;
                Task? data = null;
                TaskCompletionSource? room = null;
                lock (_lock)
                {
                    at = _taken;
                    count = (int)Math.Min(ChunkSize, _written - _taken);
                    if (count == 0)
                    {
                        if (_ended)
                        {
                            return;
                        }

                        _dataWaiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                        data = _dataWaiter.Task;
                    }
                }

                if (data is not null)
                {
                    await data.ConfigureAwait(false);
                    continue;
                }

                // Read before the bytes count as taken: until then _taken < _written, so the backend's side cannot start
                // the file over and write where this reads.
                int read;
                try
                {
                    read = RandomAccess.Read(_file, buffer.AsSpan(0, count), at);
                }
                catch (IOException ex)
                {
                    ReadFailure = ex;
                    break;
                }

                lock (_lock)
                {
                    _taken = at + count;
                    if (_taken == _written)
                    {
                        // Read back to its end: a backend waiting for room may start the file over.
                        room = _roomWaiter;
                        _roomWaiter = null;
                    }
                }

                room?.TrySetResult();
                client.Write(buffer.AsSpan(0, read));
                Sent += read;
                flushed = await client.FlushAsync(aborted).ConfigureAwait(false);
            }

            Gone();
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or InvalidOperationException)
        {
            // The client went away (or its connection was aborted): the backend's side stops appending.
            Gone();
        }
        finally
        {
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    private void Gone()
    {
        TaskCompletionSource? room;
        lock (_lock)
        {
            ClientGone = true;
            room = _roomWaiter;
            _roomWaiter = null;
        }

        room?.TrySetResult();
    }
}
