using Microsoft.AspNetCore.Http;
using Portico.Config.Model;

namespace Portico.Server.Phases;

/// <summary>
/// Per-request state that the phases, the content handlers, the variables and the access log
/// share. One instance per request; internal redirects change <see cref="Uri"/>,
/// <see cref="Args"/> and <see cref="Location"/> in place (as nginx does with r->uri).
/// </summary>
internal sealed class RequestContext
{
    private Hosting.ConnectionAddresses? _addresses;

    public RequestContext(HttpContext http, ServerConfig server, long connectionSerial, int connectionRequests)
    {
        Http = http;
        Server = server;
        Settings = server.Settings;
        ConnectionSerial = connectionSerial;
        ConnectionRequests = connectionRequests;
        StartTimestamp = Transport.LoopClock.GetTimestamp();
        StartTime = Transport.LoopClock.GetUtcNow();
    }

    public HttpContext Http { get; }

    /// <summary>When the request's connection was accepted (Stopwatch ticks); the request's own start when unknown.</summary>
    public long ConnectionTimestamp { get; init; }

    /// <summary>The longest idle wait the connection's transport enforces itself (Kestrel's keep-alive timeout on
    /// Portico's loops); a shorter <c>keepalive_timeout</c> is Portico's to enforce. MaxValue: none can be.</summary>
    public TimeSpan IdleLimit { get; init; } = TimeSpan.MaxValue;

    /// <summary>The <c>keepalive_timeout</c> the response kept its connection under (set as its head goes out); the
    /// connection's idle wait after the request (<see cref="Hosting.ClientConnection.CloseWhenIdleFor"/>).</summary>
    public TimeSpan? KeptAliveFor { get; set; }

    /// <summary>The connection's ends and their text, formatted once per connection (from Kestrel's when not given).</summary>
    public Hosting.ConnectionAddresses Addresses
    {
        get => _addresses ??= Hosting.ConnectionAddresses.From(Http.Connection);
        init => _addresses = value;
    }

    /// <summary>The virtual server that took the request.</summary>
    public ServerConfig Server { get; }

    /// <summary>The location found for the current URI, or null before lookup / when none matches.</summary>
    public LocationConfig? Location { get; set; }

    /// <summary>Effective settings: the location's, or the server's when no location matched.</summary>
    public LocationSettings Settings { get; set; }

    /// <summary>The raw request target as the client sent it (<c>$request_uri</c>).</summary>
    public string RequestUri { get; set; } = "/";

    /// <summary>The current URI: %-decoded, dot segments resolved, slashes merged (<c>$uri</c>).</summary>
    public string Uri { get; set; } = "/";

    /// <summary>The query string without <c>?</c> (<c>$args</c>); "" when none.</summary>
    public string Args { get; set; } = "";

    /// <summary><c>$host</c>: Host header lower-cased without port, else the server's primary name.</summary>
    public string Host { get; set; } = "";

    /// <summary>Numbered captures ($0..$9) of the last regex that matched (location or server_name).</summary>
    public string?[]? Captures { get; set; }

    /// <summary>Named captures (<c>(?&lt;name&gt;...)</c>) of regex locations and server names.</summary>
    public Dictionary<string, string>? NamedCaptures { get; set; }

    /// <summary>The request body once a FastCGI location read it; kept across internal redirects.</summary>
    public FastCgi.RequestBodyBuffer? RequestBody { get; set; }

    /// <summary>The file path the content phase mapped the URI to (<c>$request_filename</c>).</summary>
    public string? RequestFilename
    {
        get
        {
            if (_filenameUri is not null)
            {
                _requestFilename = PathMapper.MapUnderRoot(_filenameRoot!, _filenameUri);
                _filenameRoot = _filenameUri = null;
            }

            return _requestFilename;
        }

        set
        {
            _requestFilename = value;
            _filenameRoot = _filenameUri = null;
        }
    }

    private string? _requestFilename;

    // A root mapping made only when $request_filename is read (MapRequestFilenameLater).
    private string? _filenameRoot;
    private string? _filenameUri;

    /// <summary>
    /// <c>$request_filename</c> is <paramref name="root"/> + <paramref name="uri"/>, checked as
    /// <see cref="PathMapper.Map"/> checks it, but only built when read: a FastCGI location maps the URI for the
    /// variable alone, and most fastcgi_params never read it (nginx evaluates variables on use, too).
    /// </summary>
    internal void MapRequestFilenameLater(string root, string uri)
    {
        _requestFilename = null;
        _filenameRoot = root;
        _filenameUri = uri;
    }

    /// <summary>The evaluated <c>root</c> (or alias base) for the current location (<c>$document_root</c>).</summary>
    public string? DocumentRoot { get; set; }

    /// <summary>How many internal redirects happened; nginx stops at 10 with a 500.</summary>
    public int InternalRedirects { get; set; }

    /// <summary>True once an error_page redirect was made (recursive_error_pages off stops a second one).</summary>
    public bool ErrorPageUsed { get; set; }

    /// <summary>Body bytes written to the client so far (<c>$body_bytes_sent</c>).</summary>
    public long BodyBytesSent { get; set; }

    /// <summary><c>$connection</c>: serial number of the connection, from 1.</summary>
    public long ConnectionSerial { get; }

    /// <summary><c>$connection_requests</c>: this request's number on its connection, from 1.</summary>
    public int ConnectionRequests { get; }

    /// <summary>The worker (event loop) that owns the client connection, or -1 off Portico's loops. Upstream
    /// connections come from that worker's pool, as in nginx.</summary>
    public int Worker { get; init; } = -1;

    /// <summary>The client's FIN (null off Portico's loops): an upstream request is cut short by it unless the
    /// location ignores client aborts.</summary>
    public Transport.IClientHalfClose? HalfClose { get; init; }

    public long StartTimestamp { get; }

    public DateTimeOffset StartTime { get; }

    /// <summary>The method the phases act on: an error_page redirect turns anything but HEAD into GET.</summary>
    public string Method { get; set; } = "GET";

    /// <summary>True after an internal redirect: <c>internal</c> locations accept only these.</summary>
    public bool IsInternal { get; set; }

    /// <summary>The status an error_page imposes on whatever the target serves (0: none).</summary>
    public int StatusOverride { get; set; }

    /// <summary>The compiled settings of the current location (or server).</summary>
    internal CompiledSettings? Compiled { get; set; }

    /// <summary>A backend's relative Location goes out as sent (no absolute_redirect rewrite).</summary>
    public bool KeepRelativeLocation { get; set; }

    /// <summary>Modification time of the file being sent (for <c>expires modified</c>).</summary>
    public DateTimeOffset? ContentLastModified { get; set; }

    /// <summary>Variables set by the request (<c>set</c>, handler-provided ones like <c>$fastcgi_path_info</c>).</summary>
    public Dictionary<string, string>? UserVariables { get; set; }

    /// <summary>The upstream tries of this request ($upstream_addr and friends), newest pass first.</summary>
    public FastCgi.UpstreamLog? Upstream { get; set; }

    /// <summary>The body writer that compresses, in a config that uses gzip; null otherwise.</summary>
    public Compression.GzipBodyWriter? Gzip { get; set; }

    /// <summary>nginx's r-&gt;gzip_tested and r-&gt;gzip_ok (<see cref="Compression.GzipCheck"/>).</summary>
    public bool GzipTested { get; set; }

    public bool GzipOk { get; set; }

    /// <summary>nginx's r-&gt;gzip_vary: gzip or gzip_static considered this response, so it varies by Accept-Encoding.</summary>
    public bool GzipVary { get; set; }

    /// <summary>The static handler's file, whole, would be considered by gzip: a range of it still varies.</summary>
    public bool GzipConsideredWhole { get; set; }
}
