namespace Portico.Config;

/// <summary>
/// Where a directive came from: the file (absolute path) and 1-based line, as nginx reports it.
/// Line 0 means "no line": directives given with <c>-g</c> print as nginx's <c>command line</c>.
/// </summary>
public readonly record struct SourceLocation(string File, int Line)
{
    /// <summary>Where <c>-g</c> directives come from; nginx says "in command line".</summary>
    public static SourceLocation CommandLine { get; } = new("command line", 0);

    public override string ToString() => Line == 0 ? File : $"{File}:{Line}";
}

/// <summary>nginx's log levels, in nginx's order (debug is the most verbose).</summary>
public enum LogLevel
{
    Debug = 0,
    Info = 1,
    Notice = 2,
    Warn = 3,
    Error = 4,
    Crit = 5,
    Alert = 6,
    Emerg = 7,
}

/// <summary>
/// A configuration error. <see cref="Exception.Message"/> is nginx's text without the level,
/// e.g. <c>unknown directive "foo" in /etc/portico/site.conf:12</c>; <see cref="ToString"/> adds
/// the <c>[emerg]</c> prefix the command line prints after <c>portico: </c>.
/// </summary>
public sealed class ConfigException : Exception
{
    public ConfigException(string message, SourceLocation? where)
        : base(where is { } w ? $"{message} in {w}" : message)
    {
        Detail = message;
        Where = where;
    }

    public ConfigException(string message, SourceLocation? where, Exception inner)
        : base(where is { } w ? $"{message} in {w}" : message, inner)
    {
        Detail = message;
        Where = where;
    }

    /// <summary>The message without the location.</summary>
    public string Detail { get; }

    public SourceLocation? Where { get; }

    public override string ToString() => $"[emerg] {Message}";
}
