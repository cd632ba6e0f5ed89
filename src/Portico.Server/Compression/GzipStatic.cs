using Microsoft.AspNetCore.Http;
using Portico.Config.Model;
using Portico.Server.Hosting;
using Portico.Server.Phases;
using Portico.Server.Static;

namespace Portico.Server.Compression;

/// <summary>
/// ngx_http_gzip_static_module: before the static handler, a GET or HEAD of a file is answered with
/// <c>FILE.gz</c>, when it exists and the client may have gzip (<c>on</c>) or in any case (<c>always</c>), with
/// <c>Content-Encoding: gzip</c>, the original's type and the .gz file's own length, Last-Modified and ETag. Ranges
/// and conditionals apply to those bytes. A missing .gz lets the static handler serve the original.
/// </summary>
internal static class GzipStatic
{
    /// <summary>The precompressed file to send, or null to go on with the original.</summary>
    public static FileLookup? Find(RequestContext ctx, RuntimeConfig snapshot, string path)
    {
        var settings = ctx.Compiled!;
        var gzip = settings.Source.Gzip;
        var method = ctx.Method;
        if (gzip.Static == GzipStaticMode.Off || !(HttpMethods.IsGet(method) || HttpMethods.IsHead(method)))
        {
            return null;
        }

        var ok = gzip.Static == GzipStaticMode.Always || GzipCheck.Ok(ctx, gzip, settings.GzipDisable, ctx.Http.Response.Headers);
        if (!ok && !gzip.Vary)
        {
            return null;
        }

        var gzPath = path + ".gz";
        var file = snapshot.Files.Lookup(gzPath);
        switch (file.Kind)
        {
            case FileKind.File:
            case FileKind.Directory:
                break;
            case FileKind.NotFound:
            case FileKind.NotDirectory:
            case FileKind.NameTooLong:
                return null;
            default:
                // nginx: [error] for EACCES, [crit] for the rest, and the original is served.
                var level = file.Kind == FileKind.Forbidden ? Portico.Config.LogLevel.Error : Portico.Config.LogLevel.Crit;
                snapshot.Logs.ErrorLog.Write(level, ctx, $"open() \"{gzPath}\" failed ({file.ErrorText})");
                return null;
        }

        if (gzip.Static == GzipStaticMode.On)
        {
            ctx.GzipVary = true;
        }

        return ok && file.Kind == FileKind.File ? file : null;
    }
}
