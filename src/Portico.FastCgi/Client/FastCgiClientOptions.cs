using System.Text;

namespace Portico.FastCgi.Client;

/// <summary>Per-request behaviour of a <see cref="FastCgiClient"/>. Defaults follow nginx's fastcgi module.</summary>
public sealed class FastCgiClientOptions
{
    /// <summary>Send FCGI_KEEP_CONN and reuse the connection after FCGI_END_REQUEST (nginx fastcgi_keep_conn,
    /// default off: the backend closes after each request).</summary>
    public bool KeepConnection { get; set; }

    /// <summary>Connect timeout for this client's requests (nginx fastcgi_connect_timeout, which is per
    /// location even when the pool is shared by an upstream group); null uses the pool's.</summary>
    public TimeSpan? ConnectTimeout { get; set; }

    /// <summary>SO_KEEPALIVE on the connections this client's requests open (nginx fastcgi_socket_keepalive, per
    /// location as the connect timeout; default off, the operating system's setting). A pooled connection keeps what it
    /// was opened with, as nginx's cached ones do.</summary>
    public bool SocketKeepAlive { get; set; }

    /// <summary>Longest pause while writing the request (nginx fastcgi_send_timeout, default 60s).</summary>
    public TimeSpan SendTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Longest pause between two reads of the response (nginx fastcgi_read_timeout, default 60s).</summary>
    public TimeSpan ReadTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Cap on the CGI header block; beyond it the response fails with HeaderTooLarge
    /// (nginx fails with "upstream sent too big header" at fastcgi_buffer_size).</summary>
    public int MaxResponseHeaderBytes { get; set; } = 64 * 1024;

    /// <summary>Strings that, found in the backend's FCGI_STDERR before the CGI header block is complete, make the
    /// response invalid: the request fails with <see cref="FastCgiErrorKind.StderrCaught"/> (nginx fastcgi_catch_stderr,
    /// which is checked while the header is processed; after it, STDERR is only logged). Each STDERR chunk as received
    /// is searched, as nginx does (a string split between two records or two reads is not found).</summary>
    public IReadOnlyList<string> CatchStderr
    {
        get => _catchStderr;
        set
        {
            _catchStderr = value ?? [];
            CatchStderrUtf8 = [.. _catchStderr.Where(text => text.Length > 0).Select(Encoding.UTF8.GetBytes)];
        }
    }

    /// <summary><see cref="CatchStderr"/> as UTF-8, made when it is set.</summary>
    internal byte[][] CatchStderrUtf8 { get; private set; } = [];

    private IReadOnlyList<string> _catchStderr = [];
}
