using Portico.Config.Model;

namespace Portico.Config;

/// <summary>
/// The buffer settings nginx checks when it merges a level's fastcgi configuration into the next
/// (ngx_http_fastcgi_merge_loc_conf), with its messages, reported where nginx reports them: at the http block's
/// closing brace, for each server then its locations in order. Of these sizes only fastcgi_max_temp_file_size tunes
/// anything in Portico (see ResponseSpill); a config nginx refuses is refused all the same.
/// </summary>
internal static class FastCgiBufferCheck
{
    public static void CheckAll(IReadOnlyList<LocationConfig> locations, SourceLocation where)
    {
        foreach (LocationConfig location in locations)
        {
            Check(location.Settings.FastCgi, where);
            CheckAll(location.Locations, where);
        }
    }

    public static void Check(FastCgiSettings f, SourceLocation where)
    {
        if (f.BuffersCount < 2)
        {
            throw new ConfigException("there must be at least 2 \"fastcgi_buffers\"", where);
        }

        // The largest single buffer: the header buffer or one of the body buffers.
        long size = Math.Max(f.BufferSize, f.BuffersSize);
        long busy = f.BusyBuffersSize ?? 2 * size;
        if (busy < size)
        {
            throw new ConfigException("\"fastcgi_busy_buffers_size\" must be equal to or greater than the maximum of the value of \"fastcgi_buffer_size\" and one of the \"fastcgi_buffers\"", where);
        }

        if (busy > (f.BuffersCount - 1) * f.BuffersSize)
        {
            throw new ConfigException("\"fastcgi_busy_buffers_size\" must be less than the size of all \"fastcgi_buffers\" minus one buffer", where);
        }

        if ((f.TempFileWriteSize ?? 2 * size) < size)
        {
            throw new ConfigException("\"fastcgi_temp_file_write_size\" must be equal to or greater than the maximum of the value of \"fastcgi_buffer_size\" and one of the \"fastcgi_buffers\"", where);
        }

        long max = f.MaxTempFileSizeOrDefault;
        if (max != 0 && max < size)
        {
            throw new ConfigException("\"fastcgi_max_temp_file_size\" must be equal to zero to disable temporary files usage or must be equal to or greater than the maximum of the value of \"fastcgi_buffer_size\" and one of the \"fastcgi_buffers\"", where);
        }
    }
}
