using System.Text;
using Portico.FastCgi.Client;
using Portico.FastCgi.Protocol;
using Portico.FastCgi.Tests.Infrastructure;

namespace Portico.FastCgi.Tests;

/// <summary><see cref="FastCgiClientOptions.CatchStderr"/> (nginx fastcgi_catch_stderr): a caught string in STDERR
/// before the header block is complete fails the response; after it, STDERR is only reported.</summary>
public sealed class CatchStderrTests
{
    private static readonly byte[] s_header = Records.Record(FastCgiRecordType.Stdout, 1, Encoding.ASCII.GetBytes("Content-Type: text/plain\r\n\r\n"));
    private static readonly byte[] s_body = Records.Record(FastCgiRecordType.Stdout, 1, Encoding.ASCII.GetBytes("body"));
    private static readonly byte[] s_end = Records.Concat(Records.Record(FastCgiRecordType.Stdout, 1, []), Records.EndRequest());

    private static FastCgiClient Client(FakeFastCgiServer server, params string[] catchStderr) =>
        new(server.EndPoint, new FastCgiClientOptions { CatchStderr = catchStderr, ReadTimeout = TimeSpan.FromSeconds(20) });

    [Fact]
    public async Task A_caught_string_before_the_header_fails_the_response_after_logging_the_line()
    {
        await using var server = new FakeFastCgiServer(Serve.AfterRequest(c => c.SendAsync(Records.Concat(
            Records.Stderr("PHP Fatal error: Uncaught Exception"), s_header, s_body, s_end))));
        await using var client = Client(server, "not there", "Uncaught");
        var lines = new List<string>();
        var request = new FastCgiRequest { StderrLine = lines.Add };

        var failure = await Assert.ThrowsAsync<FastCgiException>(() => client.SendAsync(request, Serve.TestTimeout()));

        Assert.Equal(FastCgiErrorKind.StderrCaught, failure.Kind);
        Assert.Contains("Uncaught", failure.Message, StringComparison.Ordinal);
        Assert.Equal(["PHP Fatal error: Uncaught Exception"], lines);
    }

    [Fact]
    public async Task Stderr_without_a_caught_string_passes()
    {
        await using var server = new FakeFastCgiServer(Serve.AfterRequest(c => c.SendAsync(Records.Concat(
            Records.Stderr("PHP Notice: something\n"), s_header, s_body, s_end))));
        await using var client = Client(server, "Fatal");

        await using var response = await client.SendAsync(new FastCgiRequest(), Serve.TestTimeout());

        Assert.Equal("body", await Serve.ReadBodyAsync(response, Serve.TestTimeout()));
    }

    [Fact]
    public async Task A_caught_string_after_the_header_is_only_reported()
    {
        // The header block is complete before the STDERR record: nginx only logs it then, and so does the client.
        await using var server = new FakeFastCgiServer(Serve.AfterRequest(c => c.SendAsync(Records.Concat(
            s_header, s_body, Records.Stderr("PHP Fatal error: late\n"), s_body, s_end))));
        await using var client = Client(server, "Fatal");
        var lines = new List<string>();

        await using var response = await client.SendAsync(new FastCgiRequest { StderrLine = lines.Add }, Serve.TestTimeout());

        Assert.Equal("bodybody", await Serve.ReadBodyAsync(response, Serve.TestTimeout()));
        Assert.Equal(["PHP Fatal error: late"], lines);
    }
}
