// TEMPORARY: replaced by the Static subsystem at merge.
using Microsoft.AspNetCore.Http;
using Portico.Config.Model;

namespace Portico.Server.Static;

internal enum FileKind { File, Directory, NotFound, Forbidden, NotDirectory }

internal sealed record FileLookup(FileKind Kind, DateTimeOffset LastModified);

internal sealed class OpenFileCache(TimeProvider time)
{
    public TimeProvider Time { get; } = time;

    public FileLookup Lookup(string path) => Directory.Exists(path) ? new(FileKind.Directory, default) : File.Exists(path) ? new(FileKind.File, File.GetLastWriteTimeUtc(path)) : new(FileKind.NotFound, default);
}

internal sealed record StaticFileOptions(string ContentType, bool Etag, IfModifiedSinceMode IfModifiedSince, bool IsHead, bool AllowConditionalAndRange);

internal sealed record AutoindexOptions(AutoindexFormat Format, bool ExactSize, bool Localtime, bool IsHead);

internal readonly record struct SendResult(int Status, long BodyBytes);

internal static class StaticFileResponder
{
    public static Task<SendResult> SendAsync(HttpContext http, FileLookup file, StaticFileOptions options, CancellationToken ct) => Task.FromResult(new SendResult(200, 0));
}

internal static class AutoindexResponder
{
    public static Task<SendResult> SendAsync(HttpContext http, string dir, string uri, AutoindexOptions options, CancellationToken ct) => Task.FromResult(new SendResult(200, 0));
}

internal static class MimeTypes
{
    public static string Resolve(IReadOnlyDictionary<string, string> types, string defaultType, string path) => defaultType;
}
