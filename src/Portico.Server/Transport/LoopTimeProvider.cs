namespace Portico.Server.Transport;

/// <summary>
/// The server's time in production: the system's timers, with the clock reads of <see cref="LoopClock"/> (one per
/// event-loop turn, as nginx's cached time). Tests inject their own provider instead.
/// </summary>
internal sealed class LoopTimeProvider : TimeProvider
{
    public static LoopTimeProvider Instance { get; } = new();

    private LoopTimeProvider()
    {
    }

    public override long GetTimestamp() => LoopClock.GetTimestamp();

    public override DateTimeOffset GetUtcNow() => LoopClock.GetUtcNow();
}
