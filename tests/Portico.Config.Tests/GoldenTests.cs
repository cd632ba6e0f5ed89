using System.Runtime.CompilerServices;

namespace Portico.Config.Tests;

/// <summary>
/// Each <c>Golden/NAME.conf</c> is loaded with the Golden directory as prefix; the result (the
/// model dump, or <c>[emerg] message in file:line</c>) must equal <c>NAME.expected</c>, with the
/// directory written as <c>{dir}</c>. An optional <c>NAME.g</c> holds <c>-g</c> directives.
/// Run with <c>UPDATE_GOLDEN=1</c> to rewrite the expected files.
/// </summary>
public sealed class GoldenTests
{
    private static string GoldenDir([CallerFilePath] string source = "") =>
        Path.Combine(Path.GetDirectoryName(source)!, "Golden");

    public static TheoryData<string> Cases()
    {
        var data = new TheoryData<string>();
        foreach (string file in Directory.EnumerateFiles(GoldenDir(), "*.conf").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileNameWithoutExtension(file));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Golden_file_gives_expected_model_or_diagnostic(string name)
    {
        string dir = GoldenDir();
        string actual = Run(dir, name).Replace(dir, "{dir}", StringComparison.Ordinal);
        string expectedPath = Path.Combine(dir, name + ".expected");
        if (Environment.GetEnvironmentVariable("UPDATE_GOLDEN") == "1")
        {
            File.WriteAllText(expectedPath, actual);
            return;
        }

        Assert.True(File.Exists(expectedPath), $"missing {expectedPath}; run with UPDATE_GOLDEN=1");
        Assert.Equal(File.ReadAllText(expectedPath), actual);
    }

    internal static string Run(string dir, string name)
    {
        string path = Path.Combine(dir, name + ".conf");
        string gPath = Path.Combine(dir, name + ".g");
        string? global = File.Exists(gPath) ? File.ReadAllText(gPath).Trim() : null;
        try
        {
            LoadedConfig loaded = ConfigLoader.LoadText(File.ReadAllText(path), path, dir, global, runningAsRoot: true);
            return ConfigDump.Dump(loaded.Config);
        }
        catch (ConfigException e)
        {
            return e + "\n";
        }
    }
}
