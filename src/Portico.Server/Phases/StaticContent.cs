using Microsoft.AspNetCore.Http;
using Portico.Server.Hosting;
using Portico.Server.Routing;
using Portico.Server.Static;

namespace Portico.Server.Phases;

/// <summary>
/// The try_files phase, and the content phase for locations without a FastCGI handler, in
/// nginx's module order: index (internal redirect to the first existing index file), autoindex, and
/// the static file handler.
/// </summary>
internal static class StaticContent
{
    public static async Task<PhaseOutcome> HandleAsync(RequestContext ctx, RuntimeConfig snapshot, RuntimeLocation? location)
    {
        var settings = ctx.Compiled!;
        var method = ctx.Method;
        var isGetOrHead = HttpMethods.IsGet(method) || HttpMethods.IsHead(method);
        if (!isGetOrHead && !HttpMethods.IsPost(method))
        {
            // ngx_http_static_handler: only GET, HEAD (and POST, refused once the file is found).
            return PhaseOutcome.WithStatus(405);
        }

        var uri = ctx.Uri;
        if (uri.EndsWith('/'))
        {
            return await DirectoryAsync(ctx, snapshot, location, uri, isGetOrHead).ConfigureAwait(false);
        }

        var path = PathMapper.Map(ctx, location, uri);
        if (path is null)
        {
            return PhaseOutcome.WithStatus(404);
        }

        ctx.RequestFilename = path;
        if (snapshot.UsesGzip && Compression.GzipStatic.Find(ctx, snapshot, path) is { } precompressed)
        {
            return await SendPrecompressedAsync(ctx, snapshot, precompressed, uri).ConfigureAwait(false);
        }

        var file = snapshot.Files.Lookup(path);
        switch (file.Kind)
        {
            case FileKind.File:
                break;
            case FileKind.Directory:
                // https://nginx.org/en/docs/http/ngx_http_core_module.html#location: a directory
                // without the trailing slash is redirected to the slash form, args kept.
                ctx.Http.Response.Headers.Location = ctx.Args.Length > 0 ? uri + "/?" + ctx.Args : uri + "/";
                return PhaseOutcome.WithStatus(301);
            default:
                if (file.ErrorStatus != 404 || ctx.Settings.LogNotFound)
                {
                    snapshot.Logs.ErrorLog.Write(Portico.Config.LogLevel.Error, ctx, $"open() \"{path}\" failed ({file.ErrorText})");
                }

                return PhaseOutcome.WithStatus(file.ErrorStatus);
        }

        if (!isGetOrHead)
        {
            return PhaseOutcome.WithStatus(405);
        }

        ctx.ContentLastModified = file.LastModified;
        // nginx types by $uri, not by the file path (they differ with alias); a Content-Type
        // already on the response came from a backend's X-Accel-Redirect and is kept, as nginx does.
        var contentType = KeptContentType(ctx) ?? settings.MimeTypes.Resolve(uri);
        var options = new StaticFileOptions(
            ContentType: contentType,
            Etag: ctx.Settings.Etag,
            IfModifiedSince: ctx.Settings.IfModifiedSince,
            IsHead: HttpMethods.IsHead(method),
            Ranges: ctx.Gzip is null || ctx.Http.Request.Headers.Range.Count == 0 || !Compression.GzipFilter.WillCompress(ctx, settings, contentType, file.Length));
        var sent = await snapshot.FileResponder.SendAsync(ctx.Http, file, options, ctx.Http.RequestAborted).ConfigureAwait(false);
        ctx.BodyBytesSent += sent.BodyBytesSent;
        return sent.ResponseSent ? PhaseOutcome.Done : PhaseOutcome.WithStatus(sent.StatusCode);
    }

    /// <summary>gzip_static: FILE.gz in place of FILE, as gzip; the gzip filter leaves a response with an encoding alone.</summary>
    private static async Task<PhaseOutcome> SendPrecompressedAsync(RequestContext ctx, RuntimeConfig snapshot, FileLookup file, string uri)
    {
        ctx.ContentLastModified = file.LastModified;
        var options = new StaticFileOptions(
            ContentType: KeptContentType(ctx) ?? ctx.Compiled!.MimeTypes.Resolve(uri),
            Etag: ctx.Settings.Etag,
            IfModifiedSince: ctx.Settings.IfModifiedSince,
            IsHead: HttpMethods.IsHead(ctx.Method),
            Ranges: false);
        var headers = ctx.Http.Response.Headers;
        headers.ContentEncoding = "gzip";
        var sent = await snapshot.FileResponder.SendAsync(ctx.Http, file, options, ctx.Http.RequestAborted).ConfigureAwait(false);
        ctx.BodyBytesSent += sent.BodyBytesSent;
        if (!sent.ResponseSent || sent.StatusCode == 304)
        {
            // 412/416: nginx's error page is a response of its own, without the file's encoding; and its not_modified
            // filter takes the encoding off a 304.
            headers.ContentEncoding = default;
        }

        if (!sent.ResponseSent)
        {
            return PhaseOutcome.WithStatus(sent.StatusCode);
        }

        return PhaseOutcome.Done;
    }

    /// <summary>The Content-Type an internal redirect carried over (X-Accel-Redirect), if any.</summary>
    internal static string? KeptContentType(RequestContext ctx) =>
        ctx.IsInternal && ctx.Http.Response.ContentType is { Length: > 0 } kept ? kept : null;

    private static async Task<PhaseOutcome> DirectoryAsync(RequestContext ctx, RuntimeConfig snapshot, RuntimeLocation? location, string uri, bool isGetOrHead)
    {
        var directory = PathMapper.Map(ctx, location, uri);
        if (directory is null)
        {
            return PhaseOutcome.WithStatus(404);
        }

        ctx.RequestFilename = directory;

        // ngx_http_index_module: the first index that exists wins, by internal redirect.
        foreach (var index in ctx.Compiled!.Index)
        {
            var name = index.Evaluate(ctx);
            if (name.Length == 0)
            {
                continue;
            }

            if (name[0] == '/')
            {
                var absolute = PathMapper.Map(ctx, location, name);
                if (absolute is not null && snapshot.Files.Lookup(absolute).Kind == FileKind.File)
                {
                    return PhaseOutcome.Redirect(name, null);
                }

                continue;
            }

            var candidate = snapshot.Files.Lookup(directory + name);
            if (candidate.Kind == FileKind.File)
            {
                return PhaseOutcome.Redirect(uri + name, null);
            }
        }

        var dir = snapshot.Files.Lookup(directory);
        if (dir.Kind is FileKind.Forbidden or FileKind.Error)
        {
            snapshot.Logs.ErrorLog.Write(Portico.Config.LogLevel.Error, ctx, $"\"{directory}\" failed ({dir.ErrorText})");
            return PhaseOutcome.WithStatus(dir.ErrorStatus);
        }

        if (dir.Kind != FileKind.Directory)
        {
            if (ctx.Settings.LogNotFound)
            {
                snapshot.Logs.ErrorLog.Write(Portico.Config.LogLevel.Error, ctx, $"\"{directory}\" is not found (2: No such file or directory)");
            }

            return PhaseOutcome.WithStatus(404);
        }

        if (ctx.Settings.Autoindex && isGetOrHead)
        {
            var options = AutoindexOptions.From(ctx.Settings, HttpMethods.IsHead(ctx.Method), ctx.Args);
            var sent = await snapshot.Autoindex.SendAsync(ctx.Http, directory, uri, options, ctx.Http.RequestAborted).ConfigureAwait(false);
            ctx.BodyBytesSent += sent.BodyBytesSent;
            return sent.ResponseSent ? PhaseOutcome.Done : PhaseOutcome.WithStatus(sent.StatusCode);
        }

        snapshot.Logs.ErrorLog.Write(Portico.Config.LogLevel.Error, ctx, $"directory index of \"{directory}\" is forbidden");
        return PhaseOutcome.WithStatus(isGetOrHead || HttpMethods.IsPost(ctx.Method) ? 403 : 405);
    }

    // https://nginx.org/en/docs/http/ngx_http_core_module.html#try_files
    public static PhaseOutcome TryFiles(RequestContext ctx, RuntimeConfig snapshot, RuntimeLocation? location, Variables.CompiledValue[] tries, Variables.CompiledValue fallback)
    {
        foreach (var attempt in tries)
        {
            var name = attempt.Evaluate(ctx);
            if (name.Length == 0)
            {
                continue;
            }

            var testDirectory = name.EndsWith('/');
            var uri = name[0] == '/' ? name : "/" + name;
            var path = PathMapper.Map(ctx, location, testDirectory && uri.Length > 1 ? uri[..^1] : uri);
            if (path is null)
            {
                continue;
            }

            var kind = snapshot.Files.Lookup(path).Kind;
            if (testDirectory ? kind == FileKind.Directory : kind is FileKind.File)
            {
                ctx.Uri = uri;
                return PhaseOutcome.Continue;
            }
        }

        var last = fallback.Evaluate(ctx);
        if (last.StartsWith('=') && int.TryParse(last.AsSpan(1), out var code))
        {
            return PhaseOutcome.WithStatus(code);
        }

        if (last.StartsWith('@'))
        {
            return PhaseOutcome.Named(last);
        }

        var query = last.IndexOf('?');
        return query < 0 ? PhaseOutcome.Redirect(last, null) : PhaseOutcome.Redirect(last[..query], last[(query + 1)..]);
    }
}
