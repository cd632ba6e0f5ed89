using Microsoft.Win32.SafeHandles;

namespace Portico.Server.Static;

/// <summary>
/// Stats one path and classifies it the way nginx's static handler maps errno values
/// (ngx_http_static_handler: ENOENT/ENOTDIR/ENAMETOOLONG -> 404, EACCES -> 403, else 500).
/// </summary>
internal static class FileProbe
{
    /// <summary>
    /// Probes <paramref name="path"/>. Returns <paramref name="previous"/> itself when the path is
    /// unchanged (same kind, size and full-precision mtime) so cached contents survive revalidation.
    /// Files up to <paramref name="maxContentBytes"/> are read into memory.
    /// </summary>
    public static FileLookup Probe(string path, FileLookup? previous, int maxContentBytes)
    {
        FileSystemInfo info = new FileInfo(path);
        FileAttributes attributes;
        try
        {
            attributes = info.Attributes; // a failed stat yields -1, not an exception ...
        }
        catch (PathTooLongException)
        {
            // ... except ENAMETOOLONG: a URI segment over 255 bytes is a 404 in nginx, not a 500.
            return new FileLookup(path, FileKind.NameTooLong, 0, 0, 0, null);
        }

        if ((int)attributes == -1)
        {
            return Missing(path);
        }

        if ((attributes & FileAttributes.ReparsePoint) != 0)
        {
            // .NET reports a symlink's own size and mtime; nginx follows the link (disable_symlinks off).
            FileSystemInfo? target;
            try
            {
                target = info.ResolveLinkTarget(returnFinalTarget: true);
            }
            catch (IOException)
            {
                return new FileLookup(path, FileKind.Error, 0, 0, 0, null); // ELOOP and friends: nginx 500
            }
            catch (UnauthorizedAccessException)
            {
                return new FileLookup(path, FileKind.Forbidden, 0, 0, 0, null);
            }

            if (target is null || !target.Exists && (int)target.Attributes == -1)
            {
                return new FileLookup(path, FileKind.NotFound, 0, 0, 0, null);
            }

            info = target;
            attributes = info.Attributes;
        }

        long ticks = info.LastWriteTimeUtc.Ticks;
        long seconds = UnixSeconds(ticks);
        if ((attributes & FileAttributes.Directory) != 0)
        {
            if (previous is { Kind: FileKind.Directory } && previous.LastWriteTicks == ticks)
            {
                return previous;
            }

            return new FileLookup(path, FileKind.Directory, 0, ticks, seconds, null);
        }

        long length = info is FileInfo fileInfo ? fileInfo.Length : 0;
        if (previous is { Kind: FileKind.File } && previous.Length == length && previous.LastWriteTicks == ticks)
        {
            return previous;
        }

        if (length == 0 && Environment.IsPrivilegedProcess)
        {
            // .NET cannot tell a FIFO or device from a regular file, and open() on a FIFO blocks
            // (nginx opens with O_NONBLOCK and then 404s it). Those report size 0; root can read
            // any empty regular file, so skip the open and serve an empty body.
            return new FileLookup(path, FileKind.File, 0, ticks, seconds, maxContentBytes >= 0 ? [] : null);
        }

        // nginx open()s the file before answering, so an unreadable file is a 403, not a 200 that fails later.
        try
        {
            using SafeFileHandle handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            byte[]? contents = null;
            if (length <= maxContentBytes)
            {
                contents = length == 0 ? [] : new byte[length];
                int read = 0;
                while (read < contents.Length)
                {
                    int n = RandomAccess.Read(handle, contents.AsSpan(read), read);
                    if (n == 0)
                    {
                        break;
                    }

                    read += n;
                }

                if (read != length)
                {
                    contents = null; // the file changed under us; serve it from disk
                }
            }

            return new FileLookup(path, FileKind.File, length, ticks, seconds, contents);
        }
        catch (UnauthorizedAccessException)
        {
            return new FileLookup(path, FileKind.Forbidden, 0, 0, 0, null);
        }
        catch (IOException)
        {
            return Missing(path);
        }
    }

    private static long UnixSeconds(long utcTicks) =>
        Math.DivRem(utcTicks - DateTime.UnixEpoch.Ticks, TimeSpan.TicksPerSecond, out long rem) - (rem < 0 ? 1 : 0);

    private static FileLookup Missing(string path)
    {
        FileKind kind = Classify(path);
        return new FileLookup(path, kind, 0, 0, 0, null);
    }

    /// <summary>Tells ENOENT, ENOTDIR and EACCES apart after a failed stat.</summary>
    private static FileKind Classify(string path)
    {
        if (AncestorIsFile(path))
        {
            return FileKind.NotDirectory;
        }

        // Root is never refused (EACCES), so a missing entry is plainly missing; this keeps
        // exceptions off the 404 path in the common deployment.
        if (Environment.IsPrivilegedProcess)
        {
            return FileKind.NotFound;
        }

        try
        {
            using SafeFileHandle handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            return FileKind.NotFound; // appeared meanwhile; the next lookup sees it
        }
        catch (UnauthorizedAccessException)
        {
            return FileKind.Forbidden;
        }
        catch (IOException)
        {
            return FileKind.NotFound;
        }
    }

    private static bool AncestorIsFile(string path)
    {
        string? dir = Path.GetDirectoryName(path);
        while (!string.IsNullOrEmpty(dir))
        {
            if (Directory.Exists(dir))
            {
                return false;
            }

            if (File.Exists(dir))
            {
                return true;
            }

            dir = Path.GetDirectoryName(dir);
        }

        return false;
    }
}
