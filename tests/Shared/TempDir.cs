namespace Portico.Testing;

/// <summary>A temporary directory that removes itself.</summary>
public sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = Directory.CreateTempSubdirectory("portico-test-").FullName;
        // Real nginx workers may run as another user; let them read what tests write.
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(Path, (UnixFileMode)Convert.ToInt32("755", 8));
        }

        // Used as the prefix by most tests: nginx (and Portico) open PREFIX/logs/error.log by default.
        Directory.CreateDirectory(System.IO.Path.Combine(Path, "logs"));
    }

    public string Path { get; }

    public string Write(string relative, string content)
    {
        var full = System.IO.Path.Combine(Path, relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        File.WriteAllText(full, content);
        return full;
    }

    public string Write(string relative, byte[] content)
    {
        var full = System.IO.Path.Combine(Path, relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(full)!);
        File.WriteAllBytes(full, content);
        return full;
    }

    public string Mkdir(string relative)
    {
        var full = System.IO.Path.Combine(Path, relative);
        Directory.CreateDirectory(full);
        return full;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
