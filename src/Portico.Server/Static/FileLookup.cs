namespace Portico.Server.Static;

/// <summary>What a path turned out to be; mirrors how nginx maps open()/stat() results to statuses.</summary>
internal enum FileKind
{
    /// <summary>A readable regular file (symlinks followed, as with nginx's default <c>disable_symlinks off</c>).</summary>
    File,

    Directory,

    /// <summary>ENOENT: nginx answers 404.</summary>
    NotFound,

    /// <summary>EACCES (file not readable, or a parent directory not searchable): nginx answers 403.</summary>
    Forbidden,

    /// <summary>ENOTDIR (a path component is a file): nginx answers 404.</summary>
    NotDirectory,

    /// <summary>Any other failure: nginx answers 500.</summary>
    Error,

    /// <summary>ENAMETOOLONG (a path component over 255 bytes, or the path over 4096): nginx answers 404.</summary>
    NameTooLong,
}

/// <summary>
/// One <see cref="OpenFileCache"/> entry: the stat result of a path plus the header values a
/// response needs, formatted once when the entry is made (h2o-style) so a hit formats nothing.
/// Immutable apart from the cache's bookkeeping timestamps.
/// </summary>
internal sealed class FileLookup
{
    internal FileLookup(string path, FileKind kind, long length, long lastWriteTicks, long mtimeSeconds, byte[]? contents)
    {
        Path = path;
        Kind = kind;
        Length = length;
        LastWriteTicks = lastWriteTicks;
        MtimeSeconds = mtimeSeconds;
        Contents = contents;
        if (kind is FileKind.File or FileKind.Directory)
        {
            LastModified = DateTimeOffset.FromUnixTimeSeconds(mtimeSeconds);

            // nginx (ngx_http_set_etag): "%xT-%xO" of mtime seconds and size, lower-case hex, strong.
            ETag = "\"" + mtimeSeconds.ToString("x", System.Globalization.CultureInfo.InvariantCulture) + "-"
                + length.ToString("x", System.Globalization.CultureInfo.InvariantCulture) + "\"";
            LastModifiedHeader = HttpDate.Format(mtimeSeconds);
        }
        else
        {
            ETag = "";
            LastModifiedHeader = "";
        }
    }

    public string Path { get; }

    public FileKind Kind { get; }

    public bool Exists => Kind is FileKind.File or FileKind.Directory;

    /// <summary>The status nginx answers for a failed lookup (404, 403 or 500); 200 when the path exists.</summary>
    public int ErrorStatus => Kind switch
    {
        FileKind.NotFound or FileKind.NotDirectory or FileKind.NameTooLong => 404,
        FileKind.Forbidden => 403,
        FileKind.Error => 500,
        _ => 200,
    };

    /// <summary>
    /// The errno text nginx puts in its error log line (<c>open() "/x" failed (2: No such file or
    /// directory)</c>), or "" when the path exists.
    /// </summary>
    public string ErrorText => Kind switch
    {
        FileKind.NotFound => "2: No such file or directory",
        FileKind.NameTooLong => "36: File name too long",
        FileKind.Forbidden => "13: Permission denied",
        FileKind.NotDirectory => "20: Not a directory",
        FileKind.Error => "5: Input/output error",
        _ => "",
    };

    /// <summary>Size in bytes (0 for anything but a file).</summary>
    public long Length { get; }

    /// <summary>Modification time truncated to seconds, as nginx compares it.</summary>
    public DateTimeOffset LastModified { get; }

    /// <summary>Modification time in seconds since the epoch (nginx's <c>last_modified_time</c>).</summary>
    public long MtimeSeconds { get; }

    /// <summary>Pre-formatted strong entity tag with quotes, e.g. <c>"6565a3f2-1a"</c>; "" when the path is missing.</summary>
    public string ETag { get; }

    /// <summary>Pre-formatted IMF-fixdate (RFC 9110 §5.6.7); "" when the path is missing.</summary>
    public string LastModifiedHeader { get; }

    /// <summary>The whole file when it was small enough to keep in memory; null otherwise.</summary>
    public byte[]? Contents { get; }

    /// <summary>Full-precision mtime, used to notice a change within the same second.</summary>
    internal long LastWriteTicks { get; }

    /// <summary>Timestamp (TimeProvider ticks) of the last stat that confirmed this entry.</summary>
    internal long ValidatedAt;

    /// <summary>Timestamp of the last lookup that returned this entry (for LRU eviction).</summary>
    internal long LastUsed;
}
