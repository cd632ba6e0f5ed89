using System.Globalization;
using System.Text;
using Portico.Server.Phases;

namespace Portico.Server.FastCgi;

/// <summary>
/// <c>$upstream_addr</c>, <c>$upstream_status</c>, <c>$upstream_response_time</c>
/// (https://nginx.org/en/docs/http/ngx_http_upstream_module.html#variables): one entry per server tried,
/// ", "-separated; the attempts of an earlier upstream pass of the same request (X-Accel-Redirect,
/// error_page) come first, separated by " : ". Kept as numbers and formatted only when a variable is read,
/// so a request nobody logs pays for no strings.
/// </summary>
internal sealed class UpstreamLog
{
    private readonly List<(string Addr, int Status, double Seconds)> _tries = new(1);

    public UpstreamLog(UpstreamLog? previous) => Previous = previous;

    /// <summary>The log of the request's earlier upstream pass, if any.</summary>
    public UpstreamLog? Previous { get; }

    /// <summary>When the chosen server's response head arrived; its time runs until <see cref="Complete"/>.</summary>
    public long HeaderTimestamp { get; set; }

    /// <summary>Records a try; <paramref name="seconds"/> NaN means "still running" (see <see cref="Complete"/>).</summary>
    public void Add(string addr, int status, double seconds) => _tries.Add((addr, status, seconds));

    public void Complete(TimeProvider time)
    {
        if (_tries.Count > 0 && double.IsNaN(_tries[^1].Seconds) && HeaderTimestamp != 0)
        {
            var last = _tries[^1];
            _tries[^1] = (last.Addr, last.Status, time.GetElapsedTime(HeaderTimestamp).TotalSeconds);
        }
    }

    /// <summary>The text of one of the three variables, or null for any other name.</summary>
    public string? Get(string name) => name switch
    {
        "upstream_addr" => Format(static (sb, t) => sb.Append(t.Addr)),
        "upstream_status" => Format(static (sb, t) => sb.Append(t.Status.ToString(CultureInfo.InvariantCulture))),
        "upstream_response_time" => Format(static (sb, t) => sb.Append(Seconds(t.Seconds))),
        _ => null,
    };

    private string? Format(Action<StringBuilder, (string Addr, int Status, double Seconds)> append)
    {
        if (_tries.Count == 0 && Previous is null)
        {
            return null;
        }

        var sb = new StringBuilder();
        AppendTo(sb, append);
        return sb.ToString();
    }

    private void AppendTo(StringBuilder sb, Action<StringBuilder, (string Addr, int Status, double Seconds)> append)
    {
        if (Previous is not null)
        {
            Previous.AppendTo(sb, append);
            sb.Append(" : ");
        }

        for (var i = 0; i < _tries.Count; i++)
        {
            if (i > 0)
            {
                sb.Append(", ");
            }

            append(sb, _tries[i]);
        }
    }

    private static string Seconds(double seconds) =>
        double.IsNaN(seconds) ? "0.000" : Math.Max(0, seconds).ToString("0.000", CultureInfo.InvariantCulture);
}
