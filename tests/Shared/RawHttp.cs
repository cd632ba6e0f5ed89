using System.Net.Sockets;
using System.Text;

namespace Portico.Testing;

/// <summary>A parsed HTTP/1.x response as it came off the wire.</summary>
public sealed class RawResponse
{
    public required string StatusLine { get; init; }
    public required int Status { get; init; }
    public required string Reason { get; init; }
    public required List<KeyValuePair<string, string>> Headers { get; init; }
    public required byte[] Body { get; init; }

    public string BodyText => Encoding.UTF8.GetString(Body);

    public string? Header(string name) =>
        Headers.FirstOrDefault(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value;

    public IEnumerable<string> HeaderValues(string name) =>
        Headers.Where(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value);

    public override string ToString() => StatusLine + "\n" + string.Join("\n", Headers.Select(h => h.Key + ": " + h.Value)) + "\n\n" + BodyText;
}

/// <summary>
/// Talks HTTP/1.x over a real socket with exactly the bytes a test writes, so malformed
/// requests reach the server as sent (HttpClient would fix them up).
/// </summary>
public static class RawHttp
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public static Task<RawResponse> GetAsync(int port, string target, string host = "localhost", string extraHeaders = "", string method = "GET") =>
        SendAsync(port, $"{method} {target} HTTP/1.1\r\nHost: {host}\r\n{extraHeaders}Connection: close\r\n\r\n", method == "HEAD");

    /// <summary>A request to a server known by its base address, with extra headers.</summary>
    public static Task<RawResponse> SendAsync(Uri baseAddress, string method, string target, params (string Name, string Value)[] headers)
    {
        var request = new StringBuilder();
        request.Append(method).Append(' ').Append(target).Append(" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
        foreach (var (name, value) in headers)
        {
            request.Append(name).Append(": ").Append(value).Append("\r\n");
        }

        request.Append("\r\n");
        return SendAsync(baseAddress.Port, request.ToString(), method == "HEAD", baseAddress.Host);
    }

    /// <summary>
    /// Sends <paramref name="request"/>, then shuts down the sending side when <paramref name="halfClose"/> (a FIN,
    /// as <c>nc -N</c> sends), and returns every byte read until the server closes (a reset ends it too).
    /// </summary>
    public static async Task<string> SendAndReadToEndAsync(int port, string request, bool halfClose)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var timeout = new CancellationTokenSource(Timeout);
        await socket.ConnectAsync("127.0.0.1", port, timeout.Token);
        await socket.SendAsync(Encoding.ASCII.GetBytes(request), SocketFlags.None, timeout.Token);
        if (halfClose)
        {
            socket.Shutdown(SocketShutdown.Send);
        }

        var received = new MemoryStream();
        var buffer = new byte[16 * 1024];
        try
        {
            while (true)
            {
                var n = await socket.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                if (n == 0)
                {
                    break;
                }

                received.Write(buffer, 0, n);
            }
        }
        catch (SocketException ex) when (ex.SocketErrorCode == SocketError.ConnectionReset)
        {
            // A reset after the bytes read so far ends the response as well.
        }

        return Encoding.ASCII.GetString(received.ToArray());
    }

    /// <summary>Sends the request bytes and reads one response (HEAD responses have no body).</summary>
    public static async Task<RawResponse> SendAsync(int port, string request, bool isHead = false, string address = "127.0.0.1")
    {
        using var cts = new CancellationTokenSource(Timeout);
        using var client = new TcpClient();
        await client.ConnectAsync(address, port, cts.Token);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.Latin1.GetBytes(request), cts.Token);
        return await ReadResponseAsync(stream, isHead, cts.Token);
    }

    public static async Task<RawResponse> ReadResponseAsync(Stream stream, bool isHead, CancellationToken token)
    {
        var buffer = new MemoryStream();
        var chunk = new byte[64 * 1024];
        int headerEnd;
        while ((headerEnd = IndexOf(buffer.GetBuffer().AsSpan(0, (int)buffer.Length), "\r\n\r\n"u8)) < 0)
        {
            var read = await stream.ReadAsync(chunk, token);
            if (read == 0)
            {
                throw new IOException("connection closed before the response head; got: " + Encoding.Latin1.GetString(buffer.ToArray()));
            }

            buffer.Write(chunk, 0, read);
        }

        var all = buffer.ToArray();
        var head = Encoding.Latin1.GetString(all, 0, headerEnd);
        var lines = head.Split("\r\n");
        var statusParts = lines[0].Split(' ', 3);
        var headers = new List<KeyValuePair<string, string>>();
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':');
            headers.Add(new(line[..colon], line[(colon + 1)..].Trim()));
        }

        var status = int.Parse(statusParts[1]);
        var rest = new MemoryStream();
        rest.Write(all, headerEnd + 4, all.Length - headerEnd - 4);
        var lengthHeader = headers.FirstOrDefault(h => h.Key.Equals("Content-Length", StringComparison.OrdinalIgnoreCase)).Value;
        var chunked = headers.Any(h => h.Key.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase) && h.Value.Contains("chunked", StringComparison.OrdinalIgnoreCase));
        byte[] body;
        if (isHead || status is 204 or 304 || (status >= 100 && status < 200))
        {
            body = [];
        }
        else if (lengthHeader is not null)
        {
            var length = long.Parse(lengthHeader);
            while (rest.Length < length)
            {
                var read = await stream.ReadAsync(chunk, token);
                if (read == 0)
                {
                    throw new IOException($"connection closed after {rest.Length} of {length} body bytes");
                }

                rest.Write(chunk, 0, read);
            }

            body = rest.ToArray()[..(int)length];
        }
        else if (chunked)
        {
            body = await ReadChunkedAsync(stream, rest, chunk, token);
        }
        else
        {
            int read;
            while ((read = await stream.ReadAsync(chunk, token)) > 0)
            {
                rest.Write(chunk, 0, read);
            }

            body = rest.ToArray();
        }

        return new RawResponse
        {
            StatusLine = lines[0],
            Status = status,
            Reason = statusParts.Length > 2 ? statusParts[2] : "",
            Headers = headers,
            Body = body,
        };
    }

    private static async Task<byte[]> ReadChunkedAsync(Stream stream, MemoryStream pending, byte[] chunk, CancellationToken token)
    {
        var data = pending.ToArray().ToList();
        var body = new MemoryStream();
        var position = 0;
        async Task EnsureAsync(int count)
        {
            while (data.Count - position < count)
            {
                var read = await stream.ReadAsync(chunk, token);
                if (read == 0)
                {
                    throw new IOException("connection closed inside a chunked body");
                }

                data.AddRange(chunk.AsSpan(0, read).ToArray());
            }
        }

        while (true)
        {
            int lineEnd;
            while ((lineEnd = IndexOf(data.ToArray().AsSpan(position), "\r\n"u8)) < 0)
            {
                await EnsureAsync(data.Count - position + 1);
            }

            var sizeText = Encoding.ASCII.GetString(data.ToArray(), position, lineEnd).Split(';')[0];
            var size = Convert.ToInt32(sizeText, 16);
            position += lineEnd + 2;
            await EnsureAsync(size + 2);
            if (size == 0)
            {
                return body.ToArray();
            }

            body.Write(data.ToArray(), position, size);
            position += size + 2;
        }
    }

    private static int IndexOf(ReadOnlySpan<byte> haystack, ReadOnlySpan<byte> needle) => haystack.IndexOf(needle);
}
