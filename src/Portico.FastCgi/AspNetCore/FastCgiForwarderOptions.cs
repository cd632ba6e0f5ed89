using Microsoft.AspNetCore.Http;
using Portico.FastCgi.Client;

namespace Portico.FastCgi.AspNetCore;

/// <summary>How <see cref="FastCgiForwarder"/> maps an HTTP request to a FastCGI RESPONDER request.</summary>
public sealed class FastCgiForwarderOptions
{
    /// <summary>The FastCGI application, e.g. <c>FastCgiEndPoint.Parse("unix:/run/php/php8.2-fpm.sock")</c>.</summary>
    public required FastCgiEndPoint EndPoint { get; set; }

    /// <summary>Directory that SCRIPT_FILENAME is built from (nginx $document_root).</summary>
    public required string DocumentRoot { get; set; }

    /// <summary>Script appended to a URI ending in "/" (nginx fastcgi_index).</summary>
    public string Index { get; set; } = "index.php";

    /// <summary>A URI like "/a.php/x/y" is split after the first occurrence of this marker + "/" into
    /// SCRIPT_NAME "/a.php" and PATH_INFO "/x/y" (what the usual fastcgi_split_path_info regex
    /// <c>^(.+\.php)(/.+)$</c> does, without a regex). Null disables the split.</summary>
    public string? PathInfoSplitAfter { get; set; } = ".php";

    /// <summary>SERVER_SOFTWARE value.</summary>
    public string ServerSoftware { get; set; } = "Portico";

    /// <summary>Read the whole request body before contacting the backend (nginx fastcgi_request_buffering,
    /// default on), so a slow upload does not pin a php-fpm worker. Bodies up to
    /// <see cref="MemoryBufferBytes"/> stay in memory, larger ones go to a temp file. A chunked body is
    /// always buffered because PHP needs CONTENT_LENGTH.</summary>
    public bool BufferRequestBody { get; set; } = true;

    /// <summary>Largest request body buffered in memory (nginx client_body_buffer_size is 8-16 KiB; we allow more).</summary>
    public int MemoryBufferBytes { get; set; } = 64 * 1024;

    public FastCgiClientOptions Client { get; set; } = new();

    public FastCgiPoolOptions Pool { get; set; } = new();

    /// <summary>Adds or overrides params after the standard ones (nginx fastcgi_param lines).</summary>
    public Action<HttpContext, FastCgiRequest>? ConfigureRequest { get; set; }

    /// <summary>Receives FCGI_STDERR lines; when null they are logged as warnings, as nginx logs them to error_log.</summary>
    public Action<HttpContext, string>? StderrLine { get; set; }
}
