using Portico.Config.Model;

namespace Portico.Config;

/// <summary>The FastCGI part of <see cref="ConfigDump"/>.</summary>
internal static class FastCgiDump
{
    public static IEnumerable<KeyValuePair<string, string>> Describe(LocationSettings s)
    {
        _ = s;
        yield break;
    }
}
