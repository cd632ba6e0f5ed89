using System.Net.Sockets;
using System.Text;

namespace Portico.Server.Tests.Static;

/// <summary>The response exactly as it came off the wire (body de-chunked).</summary>
internal sealed record RawResponse(int Status, IReadOnlyList<KeyValuePair<string, string>> Headers, byte[] Body)
{
    public string? Header(string name) =>
        Headers.Where(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Select(h => h.Value).FirstOrDefault();

    public string BodyText => Encoding.UTF8.GetString(Body);
}

/// <summary>HTTP/1.1 over a raw socket, so tests see headers unaltered by an HTTP client library.</summary>
internal static class RawHttp
{
    public static async Task<RawResponse> SendAsync(Uri baseAddress, string method, string target, params (string Name, string Value)[] headers)
    {
        using var client = new TcpClient();
        await client.ConnectAsync(baseAddress.Host, baseAddress.Port);
        NetworkStream stream = client.GetStream();
        var request = new StringBuilder();
        request.Append(method).Append(' ').Append(target).Append(" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
        foreach ((string name, string value) in headers)
        {
            request.Append(name).Append(": ").Append(value).Append("\r\n");
        }

        request.Append("\r\n");
        await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()));
        using var received = new MemoryStream();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await stream.CopyToAsync(received, timeout.Token);
        byte[] all = received.ToArray();

        int split = IndexOf(all, "\r\n\r\n"u8);
        string head = Encoding.Latin1.GetString(all, 0, split);
        byte[] body = all[(split + 4)..];
        string[] lines = head.Split("\r\n");
        int status = int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var list = new List<KeyValuePair<string, string>>();
        foreach (string line in lines.Skip(1))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            list.Add(new(line[..colon], line[(colon + 1)..].Trim()));
        }

        var response = new RawResponse(status, list, body);
        if (string.Equals(response.Header("Transfer-Encoding"), "chunked", StringComparison.OrdinalIgnoreCase))
        {
            response = response with { Body = Dechunk(body) };
        }

        return response;
    }

    private static byte[] Dechunk(byte[] data)
    {
        using var output = new MemoryStream();
        int p = 0;
        while (true)
        {
            int lineEnd = IndexOf(data.AsSpan(p), "\r\n"u8) + p;
            int size = Convert.ToInt32(Encoding.ASCII.GetString(data, p, lineEnd - p).Split(';')[0], 16);
            p = lineEnd + 2;
            if (size == 0)
            {
                return output.ToArray();
            }

            output.Write(data, p, size);
            p += size + 2;
        }
    }

    private static int IndexOf(ReadOnlySpan<byte> data, ReadOnlySpan<byte> needle) => data.IndexOf(needle);
}
