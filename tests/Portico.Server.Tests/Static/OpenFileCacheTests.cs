using System.Text;
using Portico.Server.Static;

namespace Portico.Server.Tests.Static;

public sealed class OpenFileCacheTests : IDisposable
{
    private static readonly DateTimeOffset s_mtime = new(2026, 11, 20, 10, 0, 5, TimeSpan.Zero);
    private readonly TempDir _dir = new();
    private readonly ManualTimeProvider _time = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void File_entry_carries_preformatted_validators_and_small_contents()
    {
        string path = _dir.Write("a.txt", Encoding.ASCII.GetBytes("abcdefghijklmnopqrstuvwxyz"), s_mtime);
        FileLookup entry = new OpenFileCache(_time).Lookup(path);
        Assert.Equal(FileKind.File, entry.Kind);
        Assert.Equal(26, entry.Length);
        Assert.Equal("\"6b001a25-1a\"", entry.ETag);
        Assert.Equal("Fri, 20 Nov 2026 10:00:05 GMT", entry.LastModifiedHeader);
        Assert.Equal(s_mtime, entry.LastModified);
        Assert.Equal("abcdefghijklmnopqrstuvwxyz", Encoding.ASCII.GetString(entry.Contents!));
    }

    [Fact]
    public void Hit_within_validity_window_returns_cached_entry_even_if_file_changed()
    {
        string path = _dir.Write("a.txt", "old"u8.ToArray(), s_mtime);
        var cache = new OpenFileCache(_time);
        FileLookup first = cache.Lookup(path);
        _dir.Write("a.txt", "newer"u8.ToArray(), s_mtime.AddSeconds(10));
        _time.Advance(TimeSpan.FromMilliseconds(900));
        Assert.Same(first, cache.Lookup(path));
        Assert.Equal(3, cache.Lookup(path).Length);
    }

    [Fact]
    public void Change_is_seen_after_validity_window()
    {
        string path = _dir.Write("a.txt", "old"u8.ToArray(), s_mtime);
        var cache = new OpenFileCache(_time);
        cache.Lookup(path);
        _dir.Write("a.txt", "newer"u8.ToArray(), s_mtime.AddSeconds(10));
        _time.Advance(TimeSpan.FromSeconds(1));
        FileLookup entry = cache.Lookup(path);
        Assert.Equal(5, entry.Length);
        Assert.Equal("newer", Encoding.ASCII.GetString(entry.Contents!));
        Assert.Equal(5, cache.ContentBytes);
    }

    [Fact]
    public void Unchanged_file_keeps_its_entry_after_revalidation()
    {
        string path = _dir.Write("a.txt", "same"u8.ToArray(), s_mtime);
        var cache = new OpenFileCache(_time);
        FileLookup first = cache.Lookup(path);
        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.Same(first, cache.Lookup(path));
    }

    [Fact]
    public void Same_size_rewrite_within_the_same_second_is_noticed()
    {
        string path = _dir.Write("a.txt", "aaaa"u8.ToArray(), s_mtime);
        var cache = new OpenFileCache(_time);
        cache.Lookup(path);
        _dir.Write("a.txt", "bbbb"u8.ToArray(), s_mtime.AddMilliseconds(500));
        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal("bbbb", Encoding.ASCII.GetString(cache.Lookup(path).Contents!));
    }

    [Fact]
    public void Deleted_file_becomes_not_found_after_window()
    {
        string path = _dir.Write("a.txt", "x"u8.ToArray());
        var cache = new OpenFileCache(_time);
        Assert.Equal(FileKind.File, cache.Lookup(path).Kind);
        File.Delete(path);
        Assert.Equal(FileKind.File, cache.Lookup(path).Kind);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(FileKind.NotFound, cache.Lookup(path).Kind);
        Assert.Equal(0, cache.Count);
        Assert.Equal(0, cache.ContentBytes);
    }

    [Fact]
    public void A_name_longer_than_the_file_system_allows_is_a_404_not_a_failure()
    {
        // ENAMETOOLONG: a URI segment over 255 bytes (nginx: 404, "36: File name too long"; it was a 500).
        var lookup = new OpenFileCache(_time).Lookup(Path.Combine(_dir.Path, new string('a', 300), "x"));
        Assert.Equal(FileKind.NameTooLong, lookup.Kind);
        Assert.Equal(404, lookup.ErrorStatus);
        Assert.Equal("36: File name too long", lookup.ErrorText);
    }

    [Fact]
    public void Missing_file_is_not_cached_by_default_so_a_new_file_is_seen_at_once()
    {
        string path = Path.Combine(_dir.Path, "later.txt");
        var cache = new OpenFileCache(_time);
        Assert.Equal(FileKind.NotFound, cache.Lookup(path).Kind);
        _dir.Write("later.txt", "x"u8.ToArray());
        Assert.Equal(FileKind.File, cache.Lookup(path).Kind);
    }

    [Fact]
    public void Errors_are_cached_when_asked()
    {
        string path = Path.Combine(_dir.Path, "later.txt");
        var cache = new OpenFileCache(_time, new OpenFileCacheOptions { CacheErrors = true });
        Assert.Equal(FileKind.NotFound, cache.Lookup(path).Kind);
        _dir.Write("later.txt", "x"u8.ToArray());
        Assert.Equal(FileKind.NotFound, cache.Lookup(path).Kind);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(FileKind.File, cache.Lookup(path).Kind);
    }

    [Fact]
    public void Path_through_a_file_is_not_directory()
    {
        string file = _dir.Write("a.txt", "x"u8.ToArray());
        Assert.Equal(FileKind.NotDirectory, new OpenFileCache(_time).Lookup(Path.Combine(file, "b")).Kind);
    }

    [Theory]
    [InlineData(2, 404, "2: No such file or directory")]
    [InlineData(4, 404, "20: Not a directory")]
    [InlineData(3, 403, "13: Permission denied")]
    [InlineData(5, 500, "5: Input/output error")]
    [InlineData(6, 404, "36: File name too long")]
    [InlineData(0, 200, "")]
    public void Failed_lookups_map_to_nginx_statuses(int kind, int status, string errno)
    {
        var entry = new FileLookup("/x", (FileKind)kind, 0, 0, 0, null);
        Assert.Equal(status, entry.ErrorStatus);
        Assert.Equal(errno, entry.ErrorText);
    }

    [Fact]
    public void Directory_is_reported_as_directory()
    {
        Directory.CreateDirectory(Path.Combine(_dir.Path, "sub"));
        Assert.Equal(FileKind.Directory, new OpenFileCache(_time).Lookup(Path.Combine(_dir.Path, "sub")).Kind);
    }

    [Fact]
    public void Symlink_is_followed_to_its_target()
    {
        string target = _dir.Write("target.bin", new byte[2_000_000], s_mtime);
        string link = Path.Combine(_dir.Path, "link.bin");
        File.CreateSymbolicLink(link, target);
        FileLookup entry = new OpenFileCache(_time).Lookup(link);
        Assert.Equal(FileKind.File, entry.Kind);
        Assert.Equal(2_000_000, entry.Length);
        Assert.Equal(s_mtime, entry.LastModified);
        Assert.Null(entry.Contents); // above the in-memory limit
    }

    [Fact]
    public void Dangling_symlink_is_not_found()
    {
        string link = Path.Combine(_dir.Path, "dangling");
        File.CreateSymbolicLink(link, Path.Combine(_dir.Path, "nowhere"));
        Assert.Equal(FileKind.NotFound, new OpenFileCache(_time).Lookup(link).Kind);
    }

    [Fact]
    public void Unreadable_file_is_forbidden_for_unprivileged_users()
    {
        string path = _dir.Write("secret.txt", "x"u8.ToArray());
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        File.SetUnixFileMode(path, UnixFileMode.None);
        FileLookup entry = new OpenFileCache(_time).Lookup(path);
        Assert.Equal(Environment.IsPrivilegedProcess ? FileKind.File : FileKind.Forbidden, entry.Kind);
    }

    [Fact]
    public void Entry_count_stays_bounded()
    {
        var cache = new OpenFileCache(_time, new OpenFileCacheOptions { MaxEntries = 20 });
        for (int i = 0; i < 100; i++)
        {
            cache.Lookup(_dir.Write($"f{i}.txt", "x"u8.ToArray()));
            _time.Advance(TimeSpan.FromMilliseconds(1));
        }

        Assert.InRange(cache.Count, 1, 20);
    }

    [Fact]
    public void Inactive_entries_are_dropped_and_give_back_their_memory()
    {
        var cache = new OpenFileCache(_time, new OpenFileCacheOptions { Inactive = TimeSpan.FromSeconds(60) });
        string cold = _dir.Write("cold.txt", new byte[1000]);
        string hot = _dir.Write("hot.txt", new byte[10]);
        cache.Lookup(cold);
        for (int i = 0; i < 70; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            cache.Lookup(hot);
        }

        Assert.Equal(1, cache.Count);
        Assert.Equal(10, cache.ContentBytes);
    }

    [Fact]
    public void Content_memory_stays_within_budget()
    {
        var cache = new OpenFileCache(_time, new OpenFileCacheOptions { MaxContentBytes = 1000, MaxTotalContentBytes = 2500 });
        int withContents = 0;
        for (int i = 0; i < 5; i++)
        {
            if (cache.Lookup(_dir.Write($"f{i}.bin", new byte[1000])).Contents is not null)
            {
                withContents++;
            }
        }

        Assert.Equal(2, withContents);
        Assert.Equal(2000, cache.ContentBytes);
    }

    [Fact]
    public async Task Concurrent_lookups_agree()
    {
        string path = _dir.Write("a.txt", "x"u8.ToArray());
        var cache = new OpenFileCache(TimeProvider.System);
        FileLookup[] results = await Task.WhenAll(Enumerable.Range(0, 64).Select(_ => Task.Run(() => cache.Lookup(path))));
        Assert.All(results, r => Assert.Equal(FileKind.File, r.Kind));
        Assert.Equal(1, cache.Count);
    }

    [Fact]
    public async Task Fifo_in_the_tree_does_not_block_lookup_as_root()
    {
        if (!Environment.IsPrivilegedProcess || !File.Exists("/usr/bin/mkfifo"))
        {
            return; // unprivileged lookups open the file, which is where a FIFO would block
        }

        string fifo = Path.Combine(_dir.Path, "pipe");
        using (var mkfifo = System.Diagnostics.Process.Start("/usr/bin/mkfifo", fifo))
        {
            await mkfifo.WaitForExitAsync();
        }

        Task<FileLookup> lookup = Task.Run(() => new OpenFileCache(_time).Lookup(fifo));
        Assert.Same(lookup, await Task.WhenAny(lookup, Task.Delay(TimeSpan.FromSeconds(10))));
        Assert.Equal(0, (await lookup).Length);
    }
}
