using System.Globalization;
using System.Text;

namespace Portico.Server.Variables;

/// <summary>
/// The time source for <c>$time_local</c>, <c>$time_iso8601</c>, <c>$msec</c>,
/// <c>$request_time</c> and the error log's timestamp. Like nginx's cached time
/// (ngx_time_update), the formatted strings are rebuilt at most once per second, so a busy log
/// does not format the date per line.
/// </summary>
internal sealed class VariableClock
{
    private static readonly string[] s_months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

    private Snapshot _snapshot = new(long.MinValue, "", "", "", [], [], []);

    public VariableClock(TimeProvider time) => Time = time;

    public TimeProvider Time { get; }

    /// <summary>The formatted forms of one wall-clock second, in the server's local time zone.</summary>
    internal sealed record Snapshot(
        long UnixSecond,
        string TimeLocal,
        string TimeIso8601,
        string ErrorLogTime,
        byte[] TimeLocalUtf8,
        byte[] TimeIso8601Utf8,
        byte[] ErrorLogTimeUtf8);

    public Snapshot Now() => At(Time.GetUtcNow());

    public Snapshot At(DateTimeOffset utc)
    {
        var second = utc.ToUnixTimeSeconds();
        var snap = Volatile.Read(ref _snapshot);
        if (snap.UnixSecond == second)
        {
            return snap;
        }

        var local = TimeZoneInfo.ConvertTime(utc, Time.LocalTimeZone);
        var offset = local.Offset;
        var sign = offset < TimeSpan.Zero ? '-' : '+';
        var abs = offset.Duration();

        // $time_local: "24/Nov/2026:10:00:00 +0000" (common log format, ngx_http_log_module).
        var timeLocal = string.Create(CultureInfo.InvariantCulture,
            $"{local.Day:D2}/{s_months[local.Month - 1]}/{local.Year:D4}:{local.Hour:D2}:{local.Minute:D2}:{local.Second:D2} {sign}{abs.Hours:D2}{abs.Minutes:D2}");

        // $time_iso8601: "2026-11-24T10:00:00+00:00".
        var iso = string.Create(CultureInfo.InvariantCulture,
            $"{local.Year:D4}-{local.Month:D2}-{local.Day:D2}T{local.Hour:D2}:{local.Minute:D2}:{local.Second:D2}{sign}{abs.Hours:D2}:{abs.Minutes:D2}");

        // error.log: "2026/11/24 10:00:00" (ngx_cached_err_log_time).
        var err = string.Create(CultureInfo.InvariantCulture,
            $"{local.Year:D4}/{local.Month:D2}/{local.Day:D2} {local.Hour:D2}:{local.Minute:D2}:{local.Second:D2}");

        snap = new Snapshot(second, timeLocal, iso, err, Encoding.ASCII.GetBytes(timeLocal), Encoding.ASCII.GetBytes(iso), Encoding.ASCII.GetBytes(err));
        Volatile.Write(ref _snapshot, snap);
        return snap;
    }
}
