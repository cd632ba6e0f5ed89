using System.Net;
using Portico.Config.Model;

namespace Portico.Server.Routing;

/// <summary>
/// One socket to bind. As in nginx, a specific address on a port that also has a wildcard
/// listen is not bound separately (unless <c>bind</c>): the wildcard socket takes the
/// connection and the server is chosen by the connection's local address.
/// </summary>
internal sealed record ListenBinding(IPEndPoint? EndPoint, string? UnixPath, ListenConfig Options)
{
    public string Text => Options.EndpointText;
}
