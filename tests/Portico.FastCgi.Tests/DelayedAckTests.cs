using System.Diagnostics;
using System.Globalization;
using System.Text;
using Portico.FastCgi.Client;
using Portico.FastCgi.Protocol;
using Portico.FastCgi.Tests.Infrastructure;

namespace Portico.FastCgi.Tests;

/// <summary>
/// A backend that writes with Nagle's algorithm on (php-fpm does) holds its last small write until the earlier ones
/// are acknowledged; a kept-alive request/response connection delays the acknowledgement for 40 ms (Linux), hoping
/// to send it with the next request. The client acknowledges at once when it waits in the middle of a response.
/// </summary>
public sealed class DelayedAckTests
{
    private const int Requests = 20;

    [Fact]
    public async Task A_response_written_in_parts_by_a_nagle_backend_does_not_wait_for_the_delayed_ack()
    {
        // The fake backend's accepted socket keeps Nagle's algorithm on (.NET's default, as php-fpm's). It writes the
        // response as php-fpm does: STDOUT records of 8 KiB, one write each, then END_REQUEST in a write of its own.
        await using var server = new FakeFastCgiServer(async connection =>
        {
            while (await connection.ReadRequestAsync() is { } request)
            {
                var body = Encoding.ASCII.GetBytes("Content-Type: text/plain\r\n\r\n" + new string('y', 64 * 1024));
                for (var at = 0; at < body.Length; at += 8192)
                {
                    await connection.SendAsync(Records.Record(FastCgiRecordType.Stdout, 1, body.AsSpan(at, Math.Min(8192, body.Length - at))));
                }

                await connection.SendAsync(Records.Concat(Records.Record(FastCgiRecordType.Stdout, 1, []), Records.EndRequest()));
                if (!request.KeepConnection)
                {
                    return;
                }
            }
        });
        await using var client = new FastCgiClient(server.EndPoint, new FastCgiClientOptions { KeepConnection = true });

        var times = new List<double>();
        for (var i = 0; i <= Requests; i++)
        {
            var clock = Stopwatch.StartNew();
            await using (var response = await client.SendAsync(new FastCgiRequest().Add("SCRIPT_FILENAME", "/x.php"), Serve.TestTimeout()))
            {
                Assert.Equal(64 * 1024, (await Serve.ReadBodyAsync(response, Serve.TestTimeout())).Length);
            }

            if (i > 0)
            {
                times.Add(clock.Elapsed.TotalMilliseconds); // the first opens the connection
            }
        }

        Assert.Equal(1, server.AcceptedConnections);
        // Without the acknowledgement nearly every request takes 40 ms or more. The median leaves room for a machine
        // loaded by parallel tests to slow some requests down.
        var median = times.Order().ElementAt(times.Count / 2);
        Assert.True(median < 30, $"median {median:F1} ms: " + string.Join(", ", times.Select(ms => ms.ToString("F1", CultureInfo.InvariantCulture))));
    }
}
