using System.Net;
using Microsoft.AspNetCore.Http;
using Portico.Config;
using Portico.Config.Model;
using Portico.Server.Phases;

namespace Portico.Server.Tests.Variables;

/// <summary>Builds request contexts over a DefaultHttpContext, as Kestrel would fill one.</summary>
internal static class TestRequests
{
    public static readonly SourceLocation Where = new("/etc/portico/test.conf", 7);

    public static LocationSettings Settings(string root = "/srv/www") => new() { Root = new ConfigValue(root, Where) };

    public static ServerConfig Server(LocationSettings? settings = null, string name = "example.com") => new()
    {
        Listens = [new ListenConfig(null, 80, false, Where)],
        Names = [new ServerNameConfig(name, ServerNameKind.Exact, Where)],
        Rewrites = [],
        Locations = [],
        Settings = settings ?? Settings(),
        Where = Where,
    };

    /// <summary>A GET like curl's: Host, User-Agent, Accept.</summary>
    public static RequestContext Get(string target = "/x", Action<HttpContext>? configure = null, ServerConfig? server = null)
    {
        var http = new DefaultHttpContext();
        http.Request.Method = "GET";
        http.Request.Protocol = "HTTP/1.1";
        http.Request.Scheme = "http";
        var q = target.IndexOf('?', StringComparison.Ordinal);
        http.Request.Path = q < 0 ? target : target[..q];
        http.Request.QueryString = q < 0 ? QueryString.Empty : new QueryString(target[q..]);
        http.Request.Headers.Host = "127.0.0.1:28437";
        http.Request.Headers.UserAgent = "curl/7.88.1";
        http.Request.Headers.Accept = "*/*";
        http.Connection.RemoteIpAddress = IPAddress.Parse("127.0.0.1");
        http.Connection.RemotePort = 51234;
        http.Connection.LocalIpAddress = IPAddress.Parse("127.0.0.1");
        http.Connection.LocalPort = 28437;
        http.Response.StatusCode = 200;
        configure?.Invoke(http);
        var ctx = new RequestContext(http, server ?? Server(), connectionSerial: 42, connectionRequests: 3)
        {
            RequestUri = target,
            Uri = q < 0 ? target : target[..q],
            Args = q < 0 ? "" : target[(q + 1)..],
            Host = "127.0.0.1",
            Method = http.Request.Method,
        };
        return ctx;
    }
}

/// <summary>A manual clock: time moves only when the test says so; timers fire on Advance.</summary>
internal sealed class ManualTimeProvider : TimeProvider
{
    private readonly object _lock = new();
    private readonly List<ManualTimer> _timers = [];
    private DateTimeOffset _now;
    private long _timestamp;

    public ManualTimeProvider(DateTimeOffset now, TimeZoneInfo? zone = null)
    {
        _now = now;
        LocalZone = zone ?? TimeZoneInfo.Utc;
        _timestamp = global::System.Diagnostics.Stopwatch.GetTimestamp();
    }

    public TimeZoneInfo LocalZone { get; }

    public override TimeZoneInfo LocalTimeZone => LocalZone;

    public override DateTimeOffset GetUtcNow()
    {
        lock (_lock)
        {
            return _now;
        }
    }

    public override long GetTimestamp()
    {
        lock (_lock)
        {
            return _timestamp;
        }
    }

    /// <summary>Aligns the monotonic clock with a request's start so $request_time is exact.</summary>
    public void SetTimestamp(long timestamp)
    {
        lock (_lock)
        {
            _timestamp = timestamp;
        }
    }

    public void Advance(TimeSpan by)
    {
        List<ManualTimer> due;
        lock (_lock)
        {
            _now += by;
            _timestamp += (long)(by.TotalSeconds * TimestampFrequency);
            due = _timers.Where(t => t.Due is { } d && d <= _now).ToList();
            foreach (var t in due)
            {
                t.Due = null;
            }
        }

        foreach (var t in due)
        {
            t.Fire();
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(this, callback, state);
        lock (_lock)
        {
            _timers.Add(timer);
        }

        timer.Change(dueTime, period);
        return timer;
    }

    private sealed class ManualTimer(ManualTimeProvider owner, TimerCallback callback, object? state) : ITimer
    {
        public DateTimeOffset? Due { get; set; }

        public void Fire() => callback(state);

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (owner._lock)
            {
                Due = dueTime == Timeout.InfiniteTimeSpan ? null : owner._now + dueTime;
            }

            return true;
        }

        public void Dispose()
        {
            lock (owner._lock)
            {
                owner._timers.Remove(this);
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
