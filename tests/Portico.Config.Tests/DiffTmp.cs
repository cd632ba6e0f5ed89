namespace Portico.Config.Tests;

public sealed class DiffTmp
{
    [Fact]
    public void Run()
    {
        if (!Directory.Exists("/tmp/diff")) return;
        foreach (string f in Directory.EnumerateFiles("/tmp/diff", "*.conf"))
        {
            string r;
            try { ConfigLoader.LoadText(File.ReadAllText(f), f, "/tmp/diff", null, true); r = ""; }
            catch (ConfigException e) { r = e.ToString(); }
            File.WriteAllText(Path.ChangeExtension(f, ".ours"), r + "\n");
        }
    }
}
