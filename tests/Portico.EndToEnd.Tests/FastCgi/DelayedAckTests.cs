using System.Diagnostics;
using System.Globalization;

namespace Portico.EndToEnd.Tests.FastCgi;

/// <summary>
/// php-fpm writes its sockets with Nagle's algorithm on. A response it writes in several parts holds the last small
/// part until the earlier ones are acknowledged, and a kept-alive request/response connection delays that
/// acknowledgement (40 ms on Linux) hoping to send it with the next request. Portico acknowledges at once when it
/// waits in the middle of a response (TCP_QUICKACK); nginx 1.22 does not, and loses up to 40 ms per such response.
/// </summary>
public sealed class DelayedAckTests(PhpFastCgiSite site) : IClassFixture<PhpFastCgiSite>
{
    private const int Requests = 20;

    [PhpFpmFact]
    public async Task A_response_php_writes_in_parts_does_not_wait_for_the_delayed_ack()
    {
        // One client connection, and the location's kept-alive upstream connection (keepalive 2) reused each time.
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 1, UseCookies = false }) { Timeout = TimeSpan.FromSeconds(30) };
        var url = $"http://127.0.0.1:{site.Port}/multiwrite.php";
        Assert.Equal(65536, (await http.GetByteArrayAsync(url)).Length);

        var times = new List<double>();
        for (var i = 0; i < Requests; i++)
        {
            var clock = Stopwatch.StartNew();
            var body = await http.GetByteArrayAsync(url);
            times.Add(clock.Elapsed.TotalMilliseconds);
            Assert.Equal(65536, body.Length);
        }

        // Without the acknowledgement nearly every request takes 40 ms or more. The median leaves room for a machine
        // loaded by parallel tests to slow some requests down.
        var median = times.Order().ElementAt(times.Count / 2);
        Assert.True(median < 30, $"median {median:F1} ms: " + string.Join(", ", times.Select(ms => ms.ToString("F1", CultureInfo.InvariantCulture))));
    }
}
