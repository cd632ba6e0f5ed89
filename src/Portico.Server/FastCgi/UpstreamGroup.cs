using System.Net;
using Portico.Config.Model;
using Portico.FastCgi.Client;
using Portico.Server.Phases;
using Portico.Server.Variables;

namespace Portico.Server.FastCgi;

/// <summary>
/// One server of an upstream group (or the implicit one-server group of <c>fastcgi_pass host:port</c>).
/// The mutable balancing state is guarded by the group's lock.
/// </summary>
internal sealed class UpstreamPeer
{
    private readonly FastCgiConnectionPool[] _pools;

    public UpstreamPeer(int index, FastCgiEndPoint endPoint, FastCgiConnectionPool[] pools, UpstreamServerConfig? config)
    {
        Index = index;
        EndPoint = endPoint;
        _pools = pools;
        Name = endPoint.ToString();
        LogName = "fastcgi://" + Name;
        Weight = config?.Weight ?? 1;
        MaxFails = config?.MaxFails ?? 1;
        FailTimeout = config?.FailTimeout ?? TimeSpan.FromSeconds(10);
        Backup = config?.Backup ?? false;
        Down = config?.Down ?? false;
    }

    public int Index { get; }

    public FastCgiEndPoint EndPoint { get; }

    /// <summary>The pool of <paramref name="worker"/> (the client connection's event loop): the loop's own, or
    /// the one all loops share (see FastCgiRuntime.Pools).</summary>
    public FastCgiConnectionPool PoolFor(int worker) =>
        _pools.Length == 1 ? _pools[0] : _pools[(uint)worker < (uint)_pools.Length ? worker : 0];

    /// <summary><c>$upstream_addr</c> text: <c>127.0.0.1:9000</c> or <c>unix:/path</c>.</summary>
    public string Name { get; }

    /// <summary>The error log's <c>upstream: "fastcgi://..."</c> text.</summary>
    public string LogName { get; }

    public int Weight { get; }

    public int MaxFails { get; }

    public TimeSpan FailTimeout { get; }

    public bool Backup { get; }

    public bool Down { get; }

    // Balancing state (under the group lock).
    internal int CurrentWeight;
    internal int Fails;
    internal long CheckedAt;
    internal long AccessedAt;
    internal int Active;
}

/// <summary>
/// Server choice for <c>upstream</c> (https://nginx.org/en/docs/http/ngx_http_upstream_module.html):
/// smooth weighted round robin (ngx_http_upstream_round_robin.c), <c>least_conn</c>, <c>ip_hash</c>,
/// <c>hash KEY [consistent]</c>. A server with <c>max_fails</c> failures within <c>fail_timeout</c> is
/// skipped for <c>fail_timeout</c>, then tried again by one request; a success resets it. A group of one
/// server ignores max_fails (as nginx). When every primary server is unavailable the <c>backup</c> ones
/// are used; when nothing is left nginx answers 502 "no live upstreams" and forgets the failures so the
/// next request tries again ("quick recovery").
/// </summary>
internal sealed class UpstreamGroup
{
    private const int HashTries = 20;

    private readonly UpstreamPeer[] _primary;
    private readonly UpstreamPeer[] _backup;
    private readonly UpstreamBalancing _balancing;
    private readonly CompiledValue? _hashKey;
    private readonly (uint Point, UpstreamPeer Peer)[]? _ring;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private readonly int _primaryWeight;

    public UpstreamGroup(string name, IReadOnlyList<UpstreamPeer> peers, UpstreamBalancing balancing, CompiledValue? hashKey, bool consistent, TimeProvider time)
    {
        Name = name;
        _primary = peers.Where(p => !p.Backup).ToArray();
        _backup = peers.Where(p => p.Backup).ToArray();
        All = [.. peers];
        _balancing = balancing;
        _hashKey = hashKey;
        _time = time;
        _primaryWeight = _primary.Sum(p => p.Weight);
        if (balancing == UpstreamBalancing.Hash && consistent)
        {
            // ngx_http_upstream_hash.c: 160 points per unit of weight, placed by crc32 of the server name.
            var ring = new List<(uint, UpstreamPeer)>();
            foreach (var peer in _primary)
            {
                for (var i = 0; i < 160 * peer.Weight; i++)
                {
                    ring.Add((Crc32.Compute(peer.Name + "\0" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)), peer));
                }
            }

            ring.Sort((a, b) => a.Item1.CompareTo(b.Item1));
            _ring = [.. ring];
        }
    }

    public string Name { get; }

    public UpstreamPeer[] All { get; }

    /// <summary>How many different servers a request may try (fastcgi_next_upstream_tries 0).</summary>
    public int Count => All.Length;

    /// <summary>Picks a server not yet tried by this request, or null ("no live upstreams").</summary>
    public UpstreamPeer? Select(RequestContext ctx, ulong tried)
    {
        if (IsSingle)
        {
            // One server, no backup: nothing to balance and no failure state ("If there is only a single server in a
            // group, max_fails, fail_timeout and slow_start parameters are ignored", ngx_http_upstream_module), so no lock.
            var single = _primary[0];
            if (single.Down || IsTried(single, tried))
            {
                return null;
            }

            Interlocked.Increment(ref single.Active);
            return single;
        }

        lock (_lock)
        {
            var now = _time.GetTimestamp();
            var peer = _balancing switch
            {
                UpstreamBalancing.IpHash => HashPick(IpHash(ctx), ctx, tried, now),
                UpstreamBalancing.Hash when _ring is not null => RingPick(ctx, tried, now),
                UpstreamBalancing.Hash => HashPick(Crc32.Compute(_hashKey?.Evaluate(ctx) ?? ""), ctx, tried, now),
                UpstreamBalancing.LeastConn => LeastConn(_primary, tried, now),
                _ => RoundRobin(_primary, tried, now),
            };
            if (peer is null && _backup.Length > 0)
            {
                peer = _balancing == UpstreamBalancing.LeastConn ? LeastConn(_backup, tried, now) : RoundRobin(_backup, tried, now);
            }

            if (peer is null)
            {
                if (tried == 0)
                {
                    // Everything is marked failed: forget it so the next request probes again.
                    foreach (var p in All)
                    {
                        p.Fails = 0;
                    }
                }

                return null;
            }

            if (peer.Fails > 0 && _time.GetElapsedTime(peer.CheckedAt) > peer.FailTimeout)
            {
                // The probe after fail_timeout: one request goes through; its outcome decides.
                peer.CheckedAt = now;
            }

            peer.Active++;
            return peer;
        }
    }

    /// <summary>Reports how the attempt on <paramref name="peer"/> went (nginx ngx_http_upstream_free_round_robin_peer).</summary>
    public void Release(UpstreamPeer peer, bool failed)
    {
        if (IsSingle)
        {
            Interlocked.Decrement(ref peer.Active);
            return;
        }

        lock (_lock)
        {
            peer.Active--;
            var now = _time.GetTimestamp();
            if (failed)
            {
                peer.Fails++;
                peer.AccessedAt = now;
                peer.CheckedAt = now;
            }
            else if (peer.AccessedAt < peer.CheckedAt || peer.Fails > 0)
            {
                peer.Fails = 0;
            }
        }
    }

    private bool IsSingle => _primary.Length == 1 && _backup.Length == 0;

    private static bool IsTried(UpstreamPeer peer, ulong tried) => peer.Index < 64 && (tried & (1UL << peer.Index)) != 0;

    private bool Available(UpstreamPeer peer, ulong tried, long now) =>
        !peer.Down
        && !IsTried(peer, tried)
        && !(peer.MaxFails > 0 && peer.Fails >= peer.MaxFails && _time.GetElapsedTime(peer.CheckedAt, now) <= peer.FailTimeout);

    private UpstreamPeer? RoundRobin(UpstreamPeer[] peers, ulong tried, long now)
    {
        UpstreamPeer? best = null;
        var total = 0;
        foreach (var peer in peers)
        {
            if (!Available(peer, tried, now))
            {
                continue;
            }

            peer.CurrentWeight += peer.Weight;
            total += peer.Weight;
            if (best is null || peer.CurrentWeight > best.CurrentWeight)
            {
                best = peer;
            }
        }

        if (best is not null)
        {
            best.CurrentWeight -= total;
        }

        return best;
    }

    private UpstreamPeer? LeastConn(UpstreamPeer[] peers, ulong tried, long now)
    {
        // ngx_http_upstream_least_conn_module: fewest active connections relative to weight; ties by round robin.
        UpstreamPeer? least = null;
        var ties = 0;
        foreach (var peer in peers)
        {
            if (!Available(peer, tried, now))
            {
                continue;
            }

            if (least is null || (long)peer.Active * least.Weight < (long)least.Active * peer.Weight)
            {
                least = peer;
                ties = 1;
            }
            else if ((long)peer.Active * least.Weight == (long)least.Active * peer.Weight)
            {
                ties++;
            }
        }

        if (least is null || ties == 1)
        {
            return least;
        }

        UpstreamPeer? best = null;
        var total = 0;
        foreach (var peer in peers)
        {
            if (!Available(peer, tried, now) || (long)peer.Active * least.Weight != (long)least.Active * peer.Weight)
            {
                continue;
            }

            peer.CurrentWeight += peer.Weight;
            total += peer.Weight;
            if (best is null || peer.CurrentWeight > best.CurrentWeight)
            {
                best = peer;
            }
        }

        best!.CurrentWeight -= total;
        return best;
    }

    private UpstreamPeer? HashPick(uint hash, RequestContext ctx, ulong tried, long now)
    {
        if (_primaryWeight == 0)
        {
            return null;
        }

        // Weighted slot by hash; an unavailable server rehashes, up to 20 times, then round robin (as nginx).
        for (var attempt = 0; attempt < HashTries; attempt++)
        {
            var w = (int)(hash % (uint)_primaryWeight);
            var peer = _primary[0];
            foreach (var p in _primary)
            {
                peer = p;
                w -= p.Weight;
                if (w < 0)
                {
                    break;
                }
            }

            if (Available(peer, tried, now))
            {
                return peer;
            }

            hash = unchecked(hash * 113 + 6271 + (uint)attempt);
        }

        return RoundRobin(_primary, tried, now);
    }

    private UpstreamPeer? RingPick(RequestContext ctx, ulong tried, long now)
    {
        var ring = _ring!;
        if (ring.Length == 0)
        {
            return null;
        }

        var hash = Crc32.Compute(_hashKey?.Evaluate(ctx) ?? "");
        int lo = 0, hi = ring.Length;
        while (lo < hi)
        {
            var mid = (lo + hi) >>> 1;
            if (ring[mid].Point < hash)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }

        for (var i = 0; i < ring.Length; i++)
        {
            var peer = ring[(lo + i) % ring.Length].Peer;
            if (Available(peer, tried, now))
            {
                return peer;
            }
        }

        return null;
    }

    private static uint IpHash(RequestContext ctx)
    {
        // ngx_http_upstream_ip_hash_module: the first three octets of an IPv4 address, the whole IPv6 one.
        var address = ctx.Addresses.RemoteAddress ?? IPAddress.Loopback;
        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        Span<byte> bytes = stackalloc byte[16];
        address.TryWriteBytes(bytes, out var length);
        var count = length == 4 ? 3 : length;
        uint hash = 89;
        for (var i = 0; i < count; i++)
        {
            hash = (hash * 113 + bytes[i]) % 6271;
        }

        return hash;
    }
}

/// <summary>CRC-32 (IEEE), as nginx's <c>hash</c> balancer uses (ngx_crc32_long).</summary>
internal static class Crc32
{
    private static readonly uint[] s_table = CreateTable();

    public static uint Compute(string text)
    {
        var crc = 0xFFFFFFFFu;
        foreach (var c in text)
        {
            // Keys are ASCII in practice; other chars contribute their low byte then high byte.
            crc = s_table[(crc ^ (byte)c) & 0xFF] ^ (crc >> 8);
            if (c > 0xFF)
            {
                crc = s_table[(crc ^ (byte)(c >> 8)) & 0xFF] ^ (crc >> 8);
            }
        }

        return ~crc;
    }

    private static uint[] CreateTable()
    {
        var table = new uint[256];
        for (uint i = 0; i < 256; i++)
        {
            var c = i;
            for (var k = 0; k < 8; k++)
            {
                c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            }

            table[i] = c;
        }

        return table;
    }
}
