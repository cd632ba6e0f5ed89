namespace Portico.Server.Hosting;

/// <summary>
/// The current config snapshot. A reload builds and validates a whole new
/// <see cref="RuntimeConfig"/> and swaps this one reference; requests in flight keep the
/// snapshot they started with (they read <see cref="Current"/> once).
/// </summary>
internal sealed class ConfigSnapshotHolder
{
    private RuntimeConfig _current;

    public ConfigSnapshotHolder(RuntimeConfig initial) => _current = initial;

    public RuntimeConfig Current => Volatile.Read(ref _current);

    /// <summary>Installs a new snapshot and returns the old one (whose logs the caller flushes).</summary>
    public RuntimeConfig Swap(RuntimeConfig next) => Interlocked.Exchange(ref _current, next);
}
