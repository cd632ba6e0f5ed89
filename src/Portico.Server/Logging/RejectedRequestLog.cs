using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Portico.Server.Hosting;
using Portico.Server.Phases;

namespace Portico.Server.Logging;

/// <summary>
/// Access-log lines for requests Kestrel answers itself, before the request delegate runs: a
/// bad request line or target, an invalid header, headers too large (400, 414, 431). nginx logs
/// those too (a port scanner's <c>"-" 400</c> line); without this they would leave no line at all.
/// Kestrel reports them only through its <c>BadRequests</c> logger (event ConnectionBadRequest),
/// so this is a logger provider that listens to that one event. The line goes to the access logs
/// of the default server of the listen socket, with <c>$request</c> "not found" (Kestrel does
/// not tell the request line) and an info-level error-log line, as nginx's
/// "client sent invalid request". (https://nginx.org/en/docs/http/ngx_http_log_module.html: "requests
/// are logged in the context of a location where processing ends"; for these that is the server.)
/// </summary>
internal sealed class RejectedRequestLog : ILoggerProvider
{
    private const string Category = "Microsoft.AspNetCore.Server.Kestrel.BadRequests";
    private const string GeneralCategory = "Microsoft.AspNetCore.Server.Kestrel";
    private const int ConnectionBadRequestEventId = 17;
    private const string InvalidTarget = "Invalid request target: '";

    private readonly ConfigSnapshotHolder _snapshots;
    private readonly ConcurrentDictionary<string, ConnectionContext> _connections = new(StringComparer.Ordinal);
    private readonly Listener _listener;

    public RejectedRequestLog(ConfigSnapshotHolder snapshots)
    {
        _snapshots = snapshots;
        _listener = new Listener(this);
    }

    /// <summary>Registers a connection while Kestrel serves it (its id is all the bad-request event carries).</summary>
    public async Task TrackAsync(ConnectionContext connection, ConnectionDelegate next)
    {
        _connections[connection.ConnectionId] = connection;
        try
        {
            await next(connection).ConfigureAwait(false);
        }
        finally
        {
            _connections.TryRemove(connection.ConnectionId, out _);
        }
    }

    // Kestrel puts the offending target into the exception only when its general logger is
    // enabled at Information (HttpParser's showErrorDetails); that logger writes nowhere.
    public ILogger CreateLogger(string categoryName) => categoryName switch
    {
        Category => _listener,
        GeneralCategory => InformationSink.Instance,
        _ => Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance,
    };

    public void Dispose()
    {
    }

    private void OnBadRequest(string connectionId, Microsoft.AspNetCore.Http.BadHttpRequestException error)
    {
        if (!_connections.TryGetValue(connectionId, out var connection))
        {
            return;
        }

        var snapshot = _snapshots.Current;
        var local = connection.LocalEndPoint as IPEndPoint;
        var remote = connection.RemoteEndPoint as IPEndPoint;
        var server = snapshot.Servers.FindServer(local?.Address, local?.Port ?? 0, "", out _, out _) ?? snapshot.FallbackServer;
        var serial = connection.Features.Get<ClientConnection>();

        // What the client got from Kestrel: the status, "Content-Length: 0", "Connection: close", Date.
        var http = new DefaultHttpContext();
        http.Connection.Id = connectionId;
        http.Connection.RemoteIpAddress = remote?.Address;
        http.Connection.RemotePort = remote?.Port ?? 0;
        http.Connection.LocalIpAddress = local?.Address;
        http.Connection.LocalPort = local?.Port ?? 0;
        http.Request.Method = "";
        http.Request.Protocol = "";
        http.Request.Scheme = "http";
        http.Response.StatusCode = error.StatusCode;
        http.Response.ContentLength = 0;
        http.Response.Headers.Connection = "close";
        http.Response.Headers.Date = DateTimeOffset.UtcNow.ToString("r", CultureInfo.InvariantCulture);
        var target = Target(error.Message);
        http.Features.Get<IHttpRequestFeature>()!.RawTarget = target;

        var ctx = new RequestContext(http, server.Config, serial?.Serial ?? 0, serial?.NextRequest() ?? 1)
        {
            Method = "",
            RequestUri = target,
            Uri = "",
            Host = server.ServerNameVariable,
            Compiled = server.Settings,
            Settings = server.Settings.Source,
            Addresses = serial?.Addresses ?? ConnectionAddresses.From(local, remote),
        };

        // nginx: "client sent invalid request while reading client request line" at info.
        snapshot.Logs.ErrorLog.Write(Config.LogLevel.Info, ctx, "client sent invalid request: " + error.Message.TrimEnd('.'));
        snapshot.Logs.Log(ctx);
    }

    /// <summary>
    /// The target Kestrel quotes in "Invalid request target: '/\xFF'", its \xHH escapes undone and
    /// the bytes read as UTF-8 like every other request string (a byte that is not UTF-8 becomes U+FFFD).
    /// </summary>
    private static string Target(string message)
    {
        if (!message.StartsWith(InvalidTarget, StringComparison.Ordinal) || !message.EndsWith('\''))
        {
            return "";
        }

        var quoted = message.AsSpan(InvalidTarget.Length, message.Length - InvalidTarget.Length - 1);
        var bytes = new List<byte>(quoted.Length);
        for (var i = 0; i < quoted.Length; i++)
        {
            if (quoted[i] == '\\' && i + 3 < quoted.Length && quoted[i + 1] == 'x'
                && byte.TryParse(quoted.Slice(i + 2, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var b))
            {
                bytes.Add(b);
                i += 3;
            }
            else
            {
                bytes.Add((byte)quoted[i]);
            }
        }

        return System.Text.Encoding.UTF8.GetString([.. bytes]);
    }

    private sealed class Listener(RejectedRequestLog owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Id != ConnectionBadRequestEventId || exception is not Microsoft.AspNetCore.Http.BadHttpRequestException error
                || state is not IReadOnlyList<KeyValuePair<string, object?>> values)
            {
                return;
            }

            foreach (var (key, value) in values)
            {
                if (key == "ConnectionId" && value is string id)
                {
                    try
                    {
                        owner.OnBadRequest(id, error);
                    }
                    catch (Exception)
                    {
                        // Logging must never break Kestrel's connection handling.
                    }

                    return;
                }
            }
        }
    }

    private sealed class InformationSink : ILogger
    {
        public static readonly InformationSink Instance = new();

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => logLevel >= Microsoft.Extensions.Logging.LogLevel.Information;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
        }
    }
}
