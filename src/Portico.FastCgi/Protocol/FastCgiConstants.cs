namespace Portico.FastCgi.Protocol;

/// <summary>Fixed numbers of FastCGI 1.0 (spec section 8).</summary>
internal static class FastCgiConstants
{
    public const byte Version1 = 1;
    public const int HeaderLength = 8;

    /// <summary>contentLength is a 16-bit field (spec section 3.3).</summary>
    public const int MaxContentLength = ushort.MaxValue;

    /// <summary>Records are padded to a multiple of 8 bytes, as the spec recommends (section 3.3).</summary>
    public const int Alignment = 8;

    /// <summary>Role FCGI_RESPONDER (spec section 5.1 / 6.2).</summary>
    public const ushort RoleResponder = 1;

    /// <summary>FCGI_KEEP_CONN flag of FCGI_BeginRequestBody (spec section 5.1).</summary>
    public const byte FlagKeepConn = 1;

    /// <summary>php-fpm does not multiplex, so one request per connection always uses id 1.</summary>
    public const ushort DefaultRequestId = 1;

    /// <summary>STDIN chunk: big enough to amortise the 8-byte header, small enough to stay in pooled buffers.</summary>
    public const int StdinChunkSize = 32 * 1024;

    public static int PaddingFor(int contentLength) => (Alignment - (contentLength % Alignment)) % Alignment;
}
