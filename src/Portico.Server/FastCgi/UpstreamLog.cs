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
    // The first try inline, the rest (next upstream) in a list: most requests try one server and allocate nothing more.
    private (string Addr, int Status, double Seconds) _first;
    private List<(string Addr, int Status, double Seconds)>? _more;
    private int _count;

    public UpstreamLog(UpstreamLog? previous) => Previous = previous;

    /// <summary>The log of the request's earlier upstream pass, if any.</summary>
    public UpstreamLog? Previous { get; }

    /// <summary>When the chosen server's response head arrived; its time runs until <see cref="Complete"/>.</summary>
    public long HeaderTimestamp { get; set; }

    /// <summary>Records a try; <paramref name="seconds"/> NaN means "still running" (see <see cref="Complete"/>).</summary>
    public void Add(string addr, int status, double seconds)
    {
        if (_count == 0)
        {
            _first = (addr, status, seconds);
        }
        else
        {
            (_more ??= new(2)).Add((addr, status, seconds));
        }

        _count++;
    }

    public void Complete(TimeProvider time)
    {
        if (_count == 0 || HeaderTimestamp == 0)
        {
            return;
        }

        var last = Try(_count - 1);
        if (double.IsNaN(last.Seconds))
        {
            last.Seconds = time.GetElapsedTime(HeaderTimestamp).TotalSeconds;
            if (_count == 1)
            {
                _first = last;
            }
            else
            {
                _more![_count - 2] = last;
            }
        }
    }

    private (string Addr, int Status, double Seconds) Try(int index) => index == 0 ? _first : _more![index - 1];

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
        if (_count == 0 && Previous is null)
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

        for (var i = 0; i < _count; i++)
        {
            if (i > 0)
            {
                sb.Append(", ");
            }

            append(sb, Try(i));
        }
    }

    private static string Seconds(double seconds) =>
        double.IsNaN(seconds) ? "0.000" : Math.Max(0, seconds).ToString("0.000", CultureInfo.InvariantCulture);
}
