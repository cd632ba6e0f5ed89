using System.Globalization;
using System.Text;
using Portico.Config.Model;

namespace Portico.Server.Tests.Static;

/// <summary>
/// Real nginx 1.22 and the Portico responders serve the same tree; every response must agree on
/// status, validators, range headers, type, length and body bytes (Server and Date differ by
/// nature). Error pages (412/416) are the pipeline's, so only their status and Content-Range count.
/// </summary>
public sealed class NginxSideBySideTests : IClassFixture<NginxSideBySideTests.Peers>
{
    private readonly Peers _peers;

    public NginxSideBySideTests(Peers peers) => _peers = peers;

    private const string Tag = "\"6b001a25-1a\"";
    private const string Date = "Fri, 20 Nov 2026 10:00:05 GMT";

    public static TheoryData<string, string, string, string> FileCases => new()
    {
        // method, target, header name, header value ("" = none)
        { "GET", "/a.txt", "", "" },
        { "HEAD", "/a.txt", "", "" },
        { "GET", "/big.bin", "", "" },
        { "GET", "/empty.txt", "", "" },
        { "GET", "/empty.txt", "Range", "bytes=0-" },
        { "GET", "/a.txt", "If-None-Match", Tag },
        { "GET", "/a.txt", "If-None-Match", "W/" + Tag },
        { "GET", "/a.txt", "If-None-Match", "\"x\", " + Tag },
        { "GET", "/a.txt", "If-None-Match", "*" },
        { "GET", "/a.txt", "If-None-Match", "\"x\"" },
        { "GET", "/a.txt", "If-Modified-Since", Date },
        { "GET", "/a.txt", "If-Modified-Since", "Fri, 20 Nov 2026 10:00:04 GMT" },
        { "GET", "/a.txt", "If-Modified-Since", "Friday, 20-Nov-26 10:00:05 GMT" },
        { "GET", "/a.txt", "If-Modified-Since", "Fri Nov 20 10:00:05 2026" },
        { "GET", "/a.txt", "If-Modified-Since", "garbage" },
        { "GET", "/a.txt", "If-Match", "\"nope\"" },
        { "GET", "/a.txt", "If-Match", Tag },
        { "GET", "/a.txt", "If-Match", "*" },
        { "GET", "/a.txt", "If-Unmodified-Since", "garbage" },
        { "GET", "/a.txt", "If-Unmodified-Since", Date },
        { "GET", "/a.txt", "If-Unmodified-Since", "Fri, 20 Nov 2026 10:00:04 GMT" },
        { "GET", "/a.txt", "Range", "bytes=0-4" },
        { "HEAD", "/a.txt", "Range", "bytes=0-4" },
        { "GET", "/a.txt", "Range", "bytes=-3" },
        { "GET", "/a.txt", "Range", "bytes=20-" },
        { "GET", "/a.txt", "Range", "bytes=20-1000" },
        { "GET", "/a.txt", "Range", "bytes=0-0,2-3" },
        { "GET", "/a.txt", "Range", "bytes=5-6, 0-0" },
        { "GET", "/a.txt", "Range", "bytes=0-5,3-8" },
        { "GET", "/a.txt", "Range", "bytes=0-20,3-15" },
        { "GET", "/a.txt", "Range", "bytes=30-40,1-1" },
        { "GET", "/a.txt", "Range", "bytes=30-" },
        { "GET", "/a.txt", "Range", "bytes=abc" },
        { "GET", "/a.txt", "Range", "bytes=-0" },
        { "GET", "/a.txt", "Range", "bytes=5-1" },
        { "GET", "/a.txt", "Range", "bytes=0-1," },
        { "GET", "/a.txt", "Range", "items=0-1" },
        { "GET", "/a.txt", "Range", "BYTES= 1 - 2 " },
        { "GET", "/big.bin", "Range", "bytes=1000-2000000" },
        { "GET", "/big.bin", "Range", "bytes=100-199,4000000-4000099,-10" },
    };

    public static TheoryData<string, string> IfRangeCases => new()
    {
        { Tag, "bytes=-3" },
        { "W/" + Tag, "bytes=-3" },
        { "\"other\"", "bytes=-3" },
        { Date, "bytes=-3" },
        { "Fri, 20 Nov 2026 10:00:04 GMT", "bytes=-3" },
        { Tag, "bytes=0-0,2-3" },
    };

    [NginxTheory]
    [MemberData(nameof(FileCases))]
    public async Task File_response_matches_nginx(string method, string target, string header, string value)
    {
        (string, string)[] headers = header.Length == 0 ? [] : [(header, value)];
        await CompareAsync(method, target, headers);
    }

    [NginxTheory]
    [MemberData(nameof(IfRangeCases))]
    public async Task If_range_matches_nginx(string ifRange, string range)
    {
        await CompareAsync("GET", "/a.txt", [("If-Range", ifRange), ("Range", range)]);
    }

    [NginxTheory]
    [InlineData(AutoindexFormat.Html, "/dir/")]
    [InlineData(AutoindexFormat.Json, "/json/")]
    [InlineData(AutoindexFormat.Xml, "/xml/")]
    [InlineData(AutoindexFormat.Jsonp, "/jsonp/?callback=cb")]
    [InlineData(AutoindexFormat.Jsonp, "/jsonp/")]
    public async Task Autoindex_matches_nginx(AutoindexFormat format, string nginxTarget)
    {
        Peers.Started peers = await _peers.StartAsync();
        string query = nginxTarget.Contains('?', StringComparison.Ordinal) ? nginxTarget[nginxTarget.IndexOf('?', StringComparison.Ordinal)..] : "";
        RawResponse expected = await RawHttp.SendAsync(peers.Nginx.BaseAddress, "GET", nginxTarget);
        RawResponse actual = await RawHttp.SendAsync(peers.Hosts[format].BaseAddress, "GET", "/dir/" + query);
        Assert.Equal(200, expected.Status);
        Assert.Equal(expected.Status, actual.Status);
        Assert.Equal(expected.Header("Content-Type"), actual.Header("Content-Type"));
        Assert.Equal(expected.Header("Transfer-Encoding"), actual.Header("Transfer-Encoding"));
        Assert.Equal(Encoding.Latin1.GetString(expected.Body), Encoding.Latin1.GetString(actual.Body));
    }

    [NginxTheory]
    [InlineData("", "")]
    [InlineData("If-Match", "*")]
    [InlineData("If-Match", Tag)]
    [InlineData("If-None-Match", Tag)]
    [InlineData("If-None-Match", "*")]
    [InlineData("If-Range", Tag)]
    public async Task Etag_off_matches_nginx(string header, string value)
    {
        Peers.Started peers = await _peers.StartAsync();
        (string, string)[] headers = header.Length == 0 ? [] : [(header, value), ("Range", "bytes=1-2")];
        await CompareAsync("GET", "/noetag/a.txt", headers, peers.NoEtag, "/a.txt");
    }

    [NginxFact]
    public async Task Autoindex_head_matches_nginx()
    {
        Peers.Started peers = await _peers.StartAsync();
        RawResponse expected = await RawHttp.SendAsync(peers.Nginx.BaseAddress, "HEAD", "/dir/");
        RawResponse actual = await RawHttp.SendAsync(peers.Hosts[AutoindexFormat.Html].BaseAddress, "HEAD", "/dir/");
        Assert.Equal(expected.Status, actual.Status);
        foreach (string name in new[] { "Content-Type", "Content-Length", "Transfer-Encoding", "ETag", "Last-Modified" })
        {
            Assert.True(expected.Header(name) == actual.Header(name), $"{name}: nginx '{expected.Header(name)}', ours '{actual.Header(name)}'");
        }

        Assert.Empty(actual.Body);
    }

    [NginxFact]
    public async Task Autoindex_with_inexact_sizes_matches_nginx()
    {
        Peers.Started peers = await _peers.StartAsync();
        RawResponse expected = await RawHttp.SendAsync(peers.Nginx.BaseAddress, "GET", "/human/");
        RawResponse actual = await RawHttp.SendAsync(peers.Human.BaseAddress, "GET", "/human/");
        Assert.Equal(200, expected.Status);
        Assert.Equal(Encoding.Latin1.GetString(expected.Body), Encoding.Latin1.GetString(actual.Body));
    }

    [NginxFact]
    public async Task Symlinked_file_matches_nginx()
    {
        await CompareAsync("GET", "/link.txt", [("If-None-Match", Tag)]);
        await CompareAsync("GET", "/link.txt", []);
    }

    private async Task CompareAsync(string method, string target, (string, string)[] headers, StaticHost? host = null, string? ourTarget = null)
    {
        Peers.Started peers = await _peers.StartAsync();
        StaticHost ours = host ?? peers.Hosts[AutoindexFormat.Html];
        RawResponse expected = await RawHttp.SendAsync(peers.Nginx.BaseAddress, method, target, headers);

        // nginx numbers multipart boundaries with a per-worker counter; reuse its number.
        string? type = expected.Header("Content-Type");
        if (type is not null && type.StartsWith("multipart/byteranges; boundary=", StringComparison.Ordinal))
        {
            ours.NextBoundary = long.Parse(type["multipart/byteranges; boundary=".Length..], CultureInfo.InvariantCulture);
        }

        RawResponse actual = await RawHttp.SendAsync(ours.BaseAddress, method, ourTarget ?? target, headers);
        Assert.Equal(expected.Status, actual.Status);
        foreach (string name in new[] { "ETag", "Last-Modified", "Content-Range" })
        {
            Assert.True(expected.Header(name) == actual.Header(name), $"{name}: nginx '{expected.Header(name)}', ours '{actual.Header(name)}'");
        }

        if (expected.Status is 412 or 416)
        {
            return; // error page bodies belong to the pipeline
        }

        foreach (string name in new[] { "Content-Type", "Content-Length", "Accept-Ranges", "Transfer-Encoding" })
        {
            Assert.True(expected.Header(name) == actual.Header(name), $"{name}: nginx '{expected.Header(name)}', ours '{actual.Header(name)}'");
        }

        Assert.Equal(expected.Body.Length, actual.Body.Length);
        Assert.True(expected.Body.AsSpan().SequenceEqual(actual.Body), "body bytes differ");
    }

    /// <summary>nginx and our hosts over one tree, started on first use and stopped with the class.</summary>
    public sealed class Peers : IAsyncLifetime
    {
        private readonly SemaphoreSlim _gate = new(1, 1);
        private Started? _started;

        internal sealed record Started(TempDir Dir, NginxProcess Nginx, Dictionary<AutoindexFormat, StaticHost> Hosts, StaticHost NoEtag, StaticHost Human);

        internal async Task<Started> StartAsync()
        {
            await _gate.WaitAsync();
            try
            {
                if (_started is not null)
                {
                    return _started;
                }

                var dir = new TempDir();
                var big = new byte[5 * 1024 * 1024 + 17];
                new Random(7).NextBytes(big);
                dir.Write("a.txt", Encoding.ASCII.GetBytes("abcdefghijklmnopqrstuvwxyz"), StaticFileFunctionalTests.Mtime);
                dir.Write("big.bin", big, StaticFileFunctionalTests.Mtime);
                dir.Write("empty.txt", [], StaticFileFunctionalTests.Mtime);
                File.CreateSymbolicLink(Path.Combine(dir.Path, "link.txt"), Path.Combine(dir.Path, "a.txt"));
                AutoindexTests.Populate(dir, new DateTimeOffset(2026, 11, 24, 10, 0, 0, TimeSpan.Zero));

                // A second copy under /human/ for the inexact-size listing (nginx: same root, own location).
                foreach (string file in Directory.EnumerateFiles(Path.Combine(dir.Path, "dir"), "*", SearchOption.AllDirectories))
                {
                    string copy = Path.Combine(dir.Path, "human", Path.GetRelativePath(Path.Combine(dir.Path, "dir"), file));
                    Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
                    File.Copy(file, copy);
                    File.SetLastWriteTimeUtc(copy, File.GetLastWriteTimeUtc(file));
                }

                foreach (string sub in Directory.EnumerateDirectories(Path.Combine(dir.Path, "human"), "*", SearchOption.AllDirectories))
                {
                    Directory.SetLastWriteTimeUtc(sub, Directory.GetLastWriteTimeUtc(Path.Combine(dir.Path, "dir", Path.GetRelativePath(Path.Combine(dir.Path, "human"), sub))));
                }
                MakeWorldReadable(dir.Path);
                string d = Path.Combine(dir.Path, "dir") + "/";
                NginxProcess nginx = NginxProcess.Start(dir.Path, "autoindex on;",
                    $"location /json/ {{ alias {d}; autoindex on; autoindex_format json; }}\n" +
                    $"location /xml/ {{ alias {d}; autoindex on; autoindex_format xml; }}\n" +
                    $"location /jsonp/ {{ alias {d}; autoindex on; autoindex_format jsonp; }}\n" +
                    $"location /noetag/ {{ alias {dir.Path}/; etag off; }}\n" +
                    "location /human/ { autoindex on; autoindex_exact_size off; }\n");
                var hosts = new Dictionary<AutoindexFormat, StaticHost>();
                foreach (AutoindexFormat format in Enum.GetValues<AutoindexFormat>())
                {
                    hosts[format] = await StaticHost.StartAsync(dir.Path, StaticFileFunctionalTests.Settings(format));
                }

                StaticHost noEtag = await StaticHost.StartAsync(dir.Path, StaticFileFunctionalTests.Settings(etag: false));
                StaticHost human = await StaticHost.StartAsync(dir.Path, StaticFileFunctionalTests.Settings(exactSize: false));
                _started = new Started(dir, nginx, hosts, noEtag, human);
                return _started;
            }
            finally
            {
                _gate.Release();
            }
        }

        private static void MakeWorldReadable(string root)
        {
            if (OperatingSystem.IsWindows())
            {
                return;
            }

            const UnixFileMode dirMode = (UnixFileMode)0x1ED; // 0755
            const UnixFileMode fileMode = (UnixFileMode)0x1A4; // 0644
            foreach (string path in Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories))
            {
                File.SetUnixFileMode(path, Directory.Exists(path) ? dirMode : fileMode);
            }
        }

        public Task InitializeAsync() => Task.CompletedTask;

        public async Task DisposeAsync()
        {
            if (_started is { } s)
            {
                foreach (StaticHost host in s.Hosts.Values)
                {
                    await host.DisposeAsync();
                }

                await s.NoEtag.DisposeAsync();
                await s.Human.DisposeAsync();

                s.Nginx.Dispose();
                s.Dir.Dispose();
            }

            _gate.Dispose();
        }
    }
}
