namespace Portico.FastCgi.Protocol;

/// <summary>Told when a response reader has to wait for the backend (nothing buffered), so that a read
/// timeout covers exactly the waits.</summary>
internal interface IReadWaitGuard
{
    void BeforeWait();

    void AfterWait();
}
