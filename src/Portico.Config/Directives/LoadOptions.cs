namespace Portico.Config.Directives;

/// <summary>Inputs that are not in the file.</summary>
internal sealed record LoadOptions(string Prefix, string MainFile, bool RunningAsRoot);
