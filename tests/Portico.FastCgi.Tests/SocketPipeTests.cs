using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Portico.FastCgi.Client;

namespace Portico.FastCgi.Tests;

/// <summary>The connection's own PipeReader/PipeWriter over a socket: PipeReader's examined/consumed rules,
/// end of stream, and a buffer that compacts or grows instead of losing bytes.</summary>
public sealed class SocketPipeTests
{
    private static async Task<(Socket Client, Socket Server)> PairAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(listener.LocalEndPoint!);
        var server = await listener.AcceptAsync();
        return (client, server);
    }

    [Fact]
    public async Task Unexamined_bytes_are_served_without_waiting_and_examined_ones_wait_for_more()
    {
        var (client, server) = await PairAsync();
        using (client)
        using (server)
        {
            var reader = new SocketPipeReader(new NetFastCgiSocket(client, tcp: true), 16);
            await server.SendAsync(Encoding.ASCII.GetBytes("abcd"));
            var first = await reader.ReadAsync();
            Assert.Equal("abcd", Encoding.ASCII.GetString(first.Buffer));

            // Consume one byte, examine nothing more: the rest is returned at once.
            reader.AdvanceTo(first.Buffer.GetPosition(1));
            Assert.True(reader.TryRead(out var again));
            Assert.Equal("bcd", Encoding.ASCII.GetString(again.Buffer));

            // Examine all: the next read must wait for new bytes and then return old and new together.
            reader.AdvanceTo(again.Buffer.Start, again.Buffer.End);
            Assert.False(reader.TryRead(out _));
            var pending = reader.ReadAsync();
            Assert.False(pending.IsCompleted);
            await server.SendAsync(Encoding.ASCII.GetBytes("ef"));
            var more = await pending;
            Assert.Equal("bcdef", Encoding.ASCII.GetString(more.Buffer));
            reader.AdvanceTo(more.Buffer.End);
            reader.Complete();
        }
    }

    [Fact]
    public async Task Buffer_grows_when_nothing_is_consumed_and_compacts_when_something_is()
    {
        var (client, server) = await PairAsync();
        using (client)
        using (server)
        {
            var reader = new SocketPipeReader(new NetFastCgiSocket(client, tcp: true), 16);
            var payload = Enumerable.Range(0, 100_000).Select(i => (byte)(i % 251)).ToArray();
            var sending = server.SendAsync(payload);
            var received = new List<byte>();
            while (received.Count < payload.Length)
            {
                var result = await reader.ReadAsync();

                if (received.Count + result.Buffer.Length < payload.Length && result.Buffer.Length < 1000)
                {
                    // Consume nothing and examine everything: the buffer (16 bytes) must grow to take more.
                    reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
                    continue;
                }

                // Consume half (the rest must move to the front of the buffer, not be lost).
                var take = (int)Math.Max(1, result.Buffer.Length / 2);
                received.AddRange(result.Buffer.Slice(0, take).ToArray());
                reader.AdvanceTo(result.Buffer.GetPosition(take));
            }

            await sending;
            Assert.Equal(payload, received.ToArray());
            reader.Complete();
        }
    }

    [Fact]
    public async Task Peer_close_is_end_of_stream()
    {
        var (client, server) = await PairAsync();
        using (client)
        {
            var reader = new SocketPipeReader(new NetFastCgiSocket(client, tcp: true), 16);
            await server.SendAsync(Encoding.ASCII.GetBytes("x"));
            server.Shutdown(SocketShutdown.Send);
            server.Dispose();
            var first = await reader.ReadAsync();
            reader.AdvanceTo(first.Buffer.End);
            var last = await reader.ReadAsync();
            Assert.True(last.IsCompleted);
            Assert.True(last.Buffer.IsEmpty);
            reader.Complete();
        }
    }

    [Fact]
    public async Task Writer_sends_everything_framed_in_one_flush()
    {
        var (client, server) = await PairAsync();
        using (client)
        using (server)
        {
            var writer = new SocketPipeWriter(new NetFastCgiSocket(client, tcp: true), 8);
            var big = new byte[70_000];
            Random.Shared.NextBytes(big);
            writer.Write(Encoding.ASCII.GetBytes("head"));
            writer.Write(big);
            await writer.FlushAsync();

            var received = new byte[4 + big.Length];
            var got = 0;
            while (got < received.Length)
            {
                got += await server.ReceiveAsync(received.AsMemory(got));
            }

            Assert.Equal("head", Encoding.ASCII.GetString(received, 0, 4));
            Assert.Equal(big, received[4..]);
            writer.Complete();
        }
    }
}
