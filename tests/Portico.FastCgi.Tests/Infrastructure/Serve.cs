using Portico.FastCgi.Client;

namespace Portico.FastCgi.Tests.Infrastructure;

internal static class Serve
{
    /// <summary>A well-behaved backend: answers each request, keeps the connection only when asked (spec 5.1).</summary>
    public static Func<FakeConnection, Task> Responding(Func<FakeRequest, byte[]> respond) => async connection =>
    {
        while (await connection.ReadRequestAsync() is { } request)
        {
            await connection.SendAsync(respond(request));
            if (!request.KeepConnection)
            {
                return;
            }
        }
    };

    public static Func<FakeConnection, Task> Responding(string response) => Responding(_ => Records.Response(response));

    /// <summary>Reads the request, then runs <paramref name="misbehave"/>.</summary>
    public static Func<FakeConnection, Task> AfterRequest(Func<FakeConnection, Task> misbehave) => async connection =>
    {
        if (await connection.ReadRequestAsync() is not null)
        {
            await misbehave(connection);
        }
    };

    public static CancellationToken TestTimeout(int seconds = 30) => new CancellationTokenSource(TimeSpan.FromSeconds(seconds)).Token;

    public static async Task<string> ReadBodyAsync(FastCgiResponse response, CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(response.Body);
        return await reader.ReadToEndAsync(cancellationToken);
    }
}
