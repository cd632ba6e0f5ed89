namespace Portico.Server.Phases;

/// <summary>The product name and version as sent in <c>Server</c> and printed by <c>-v</c>.</summary>
internal static class ServerInfo
{
    public const string Name = "portico";
    public const string Version = "0.1.0";
    public const string NameAndVersion = Name + "/" + Version;
}
