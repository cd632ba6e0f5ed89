using Portico.FastCgi.Client;
using Portico.FastCgi.Tests.Infrastructure;

namespace Portico.FastCgi.Tests.PhpFpm;

/// <summary>Tests that kill php-fpm get a php-fpm of their own.</summary>
public sealed class PhpFpmCrashTests
{
    [PhpFpmFact]
    public async Task Php_fpm_killed_mid_request_gives_a_typed_error_not_a_hang()
    {
        await using var fpm = await PhpFpmProcess.StartAsync(workers: 1, Serve.TestTimeout());
        await using var client = new FastCgiClient(fpm.Tcp, new FastCgiClientOptions { ReadTimeout = TimeSpan.FromSeconds(20) });
        var request = new FastCgiRequest()
            .Add("SCRIPT_FILENAME", Path.Combine(fpm.DocumentRoot, "hang.php"))
            .Add("REQUEST_METHOD", "GET");

        await using var response = await client.SendAsync(request, Serve.TestTimeout());
        var buffer = new byte[7];
        await response.Body.ReadExactlyAsync(buffer, Serve.TestTimeout());
        Assert.Equal("started"u8.ToArray(), buffer);

        // The script is now inside sleep(): the response is mid-body when the backend dies.
        await fpm.KillAsync();
        var ex = await Assert.ThrowsAsync<FastCgiException>(() => response.Body.CopyToAsync(Stream.Null, Serve.TestTimeout()));
        Assert.Equal(FastCgiErrorKind.BackendClosed, ex.Kind);
    }

    [PhpFpmFact]
    public async Task Php_fpm_gone_is_connect_failed()
    {
        var fpm = await PhpFpmProcess.StartAsync(workers: 1, Serve.TestTimeout());
        var endPoint = fpm.Unix;
        await fpm.DisposeAsync();
        await using var client = new FastCgiClient(endPoint);
        var ex = await Assert.ThrowsAsync<FastCgiException>(() => client.SendAsync(new FastCgiRequest(), Serve.TestTimeout()));
        Assert.Equal(FastCgiErrorKind.ConnectFailed, ex.Kind);
    }
}
