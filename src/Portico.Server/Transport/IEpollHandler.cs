namespace Portico.Server.Transport;

/// <summary>Something registered with an <see cref="EpollLoop"/>: told the epoll events of its file descriptor,
/// on the loop's thread. Events can be spurious (a slot reused just after an unregister): a handler treats
/// them as hints and lets the system call that follows say what is true.</summary>
internal interface IEpollHandler
{
    void OnEvents(uint events);
}
