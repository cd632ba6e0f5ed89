using System.Collections.Concurrent;

namespace Portico.Server.Static;

/// <summary>Limits of the <see cref="OpenFileCache"/>; defaults are sized for a static-file benchmark.</summary>
internal sealed record OpenFileCacheOptions
{
    /// <summary>Most entries kept (nginx <c>open_file_cache max=</c>); least recently used go first.</summary>
    public int MaxEntries { get; init; } = 10_000;

    /// <summary>How long an entry is trusted without a new stat (nginx <c>open_file_cache_valid</c>).</summary>
    public TimeSpan Validity { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Entries not looked up for this long are dropped (nginx <c>open_file_cache inactive=</c>, default 60s).</summary>
    public TimeSpan Inactive { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Cache NotFound/Forbidden/NotDirectory results too (nginx <c>open_file_cache_errors</c>, off by
    /// default there; off here so a file created a moment ago is served at once, as nginx does).
    /// </summary>
    public bool CacheErrors { get; init; }

    /// <summary>
    /// Files up to this size are kept in memory and served without opening them (h2o's file
    /// cache). 1 MB covers typical page assets; the benchmark against nginx's sendfile showed
    /// 100 KB files at 0.7x when read per request, so the threshold is not 64 KB.
    /// </summary>
    public int MaxContentBytes { get; init; } = 1024 * 1024;

    /// <summary>Total bytes of file contents kept in memory, across entries.</summary>
    public long MaxTotalContentBytes { get; init; } = 64L * 1024 * 1024;
}

/// <summary>
/// A stat cache in the spirit of nginx's <c>open_file_cache</c> (ngx_open_file_cache.c): a hot
/// path is stat()ed at most once per <see cref="OpenFileCacheOptions.Validity"/>, and small files
/// are held in memory. Safe for concurrent use; lookups of a cached path take no lock and allocate
/// nothing. Memory is bounded by entry count and by a total content budget.
/// </summary>
internal sealed class OpenFileCache
{
    private readonly ConcurrentDictionary<string, FileLookup> _entries = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly OpenFileCacheOptions _options;
    private readonly long _validityTicks;
    private readonly long _inactiveTicks;
    private long _lastSweep;
    private readonly Lock _evictLock = new();
    private int _count;
    private long _contentBytes;

    public OpenFileCache(TimeProvider time, OpenFileCacheOptions? options = null)
    {
        _time = time;
        _options = options ?? new OpenFileCacheOptions();
        _validityTicks = (long)(_options.Validity.TotalSeconds * time.TimestampFrequency);
        _inactiveTicks = (long)(_options.Inactive.TotalSeconds * time.TimestampFrequency);
        _lastSweep = time.GetTimestamp();
    }

    /// <summary>Number of cached entries (approximate under concurrency).</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Bytes of file contents held in memory.</summary>
    public long ContentBytes => Interlocked.Read(ref _contentBytes);

    /// <summary>Returns what <paramref name="absolutePath"/> is now, at most <c>Validity</c> old.</summary>
    public FileLookup Lookup(string absolutePath)
    {
        long now = _time.GetTimestamp();
        if (_entries.TryGetValue(absolutePath, out FileLookup? cached))
        {
            long validatedAt = Volatile.Read(ref cached.ValidatedAt);
            if (now - validatedAt < _validityTicks
                || Interlocked.CompareExchange(ref cached.ValidatedAt, now, validatedAt) != validatedAt)
            {
                // Fresh, or another thread has just claimed the revalidation: when a hot entry
                // expires under load only one request stats the file; the rest serve the entry.
                cached.LastUsed = now;
                return cached;
            }

            SweepIfDue(now);
            FileLookup fresh = FileProbe.Probe(absolutePath, cached, ContentAllowance());
            if (ReferenceEquals(fresh, cached))
            {
                // Unchanged: keep the entry (and its cached contents); its validity restarted above.
                cached.LastUsed = now;
                return cached;
            }

            fresh.ValidatedAt = now;
            fresh.LastUsed = now;
            if (!ShouldCache(fresh))
            {
                if (_entries.TryRemove(new KeyValuePair<string, FileLookup>(absolutePath, cached)))
                {
                    Released(cached);
                }

                return fresh;
            }

            if (_entries.TryUpdate(absolutePath, fresh, cached))
            {
                Interlocked.Add(ref _contentBytes, (fresh.Contents?.LongLength ?? 0) - (cached.Contents?.LongLength ?? 0));
            }

            return fresh;
        }

        SweepIfDue(now);
        FileLookup probed = FileProbe.Probe(absolutePath, null, ContentAllowance());
        probed.ValidatedAt = now;
        probed.LastUsed = now;
        if (ShouldCache(probed) && _entries.TryAdd(absolutePath, probed))
        {
            Interlocked.Add(ref _contentBytes, probed.Contents?.LongLength ?? 0);
            if (Interlocked.Increment(ref _count) > _options.MaxEntries)
            {
                Evict();
            }
        }

        return probed;
    }

    /// <summary>Drops every entry (e.g. on reload).</summary>
    public void Clear()
    {
        foreach (KeyValuePair<string, FileLookup> pair in _entries)
        {
            if (_entries.TryRemove(pair))
            {
                Released(pair.Value);
            }
        }
    }

    private bool ShouldCache(FileLookup entry) => entry.Exists || _options.CacheErrors;

    private int ContentAllowance()
    {
        long left = _options.MaxTotalContentBytes - Interlocked.Read(ref _contentBytes);
        return (int)Math.Clamp(left, 0, _options.MaxContentBytes);
    }

    private void Released(FileLookup entry)
    {
        Interlocked.Decrement(ref _count);
        if (entry.Contents is { } contents)
        {
            Interlocked.Add(ref _contentBytes, -contents.LongLength);
        }
    }

    /// <summary>
    /// Drops entries unused for <c>Inactive</c>, so files nobody asks for any more give back their
    /// memory. Runs on the slow path (a miss or a revalidation) at most once per <c>Inactive</c>/4;
    /// cache hits never pay for it.
    /// </summary>
    private void SweepIfDue(long now)
    {
        long last = Interlocked.Read(ref _lastSweep);
        if (now - last < _inactiveTicks / 4 || Interlocked.CompareExchange(ref _lastSweep, now, last) != last)
        {
            return;
        }

        foreach (KeyValuePair<string, FileLookup> pair in _entries)
        {
            if (now - pair.Value.LastUsed >= _inactiveTicks && _entries.TryRemove(pair))
            {
                Released(pair.Value);
            }
        }
    }

    /// <summary>
    /// Removes the least recently used entries down to 90% of the limit, so a full cache evicts
    /// in batches rather than on every insert. One thread evicts at a time; others carry on.
    /// </summary>
    private void Evict()
    {
        if (!_evictLock.TryEnter())
        {
            return;
        }

        try
        {
            int target = _options.MaxEntries * 9 / 10;
            int excess = Volatile.Read(ref _count) - target;
            if (excess <= 0)
            {
                return;
            }

            KeyValuePair<string, FileLookup>[] snapshot = _entries.ToArray();
            Array.Sort(snapshot, static (a, b) => a.Value.LastUsed.CompareTo(b.Value.LastUsed));
            for (int i = 0; i < snapshot.Length && excess > 0; i++)
            {
                if (_entries.TryRemove(snapshot[i]))
                {
                    Released(snapshot[i].Value);
                    excess--;
                }
            }
        }
        finally
        {
            _evictLock.Exit();
        }
    }
}
