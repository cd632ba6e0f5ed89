namespace Portico.Config.Tests;

public sealed class IncludeTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "portico-include-" + Guid.NewGuid().ToString("N"));

    public IncludeTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string relative, string text)
    {
        string path = Path.Combine(_dir, relative);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    private LoadedConfig Load(string main) => ConfigLoader.Load(Write("conf/main.conf", main), _dir);

    [Fact]
    public void Relative_include_is_relative_to_the_main_file_directory()
    {
        Write("conf/sites/a.conf", "server { listen 8081; }");
        LoadedConfig loaded = Load("events {} http { include sites/a.conf; }");
        Assert.Equal(8081, loaded.Config.Http!.Servers[0].Listens[0].Port);
    }

    [Fact]
    public void Relative_config_path_is_relative_to_the_prefix()
    {
        Write("conf/main.conf", "events {}");
        LoadedConfig loaded = ConfigLoader.Load("conf/main.conf", _dir);
        Assert.Equal(Path.Combine(_dir, "conf/main.conf"), loaded.Config.FilePath);
    }

    [Fact]
    public void Glob_includes_match_in_sorted_order_and_skip_dot_files()
    {
        Write("conf/sites/b.conf", "server { listen 8082; }");
        Write("conf/sites/a.conf", "server { listen 8081; }");
        Write("conf/sites/.hidden.conf", "server { listen 8083; }");
        Write("conf/sites/c.txt", "server { listen 8084; }");
        LoadedConfig loaded = Load("events {} http { include sites/*.conf; }");
        Assert.Equal([8081, 8082], loaded.Config.Http!.Servers.Select(s => s.Listens[0].Port));
    }

    [Fact]
    public void Glob_supports_question_mark_and_brackets_in_directories()
    {
        Write("conf/s1/x.conf", "server { listen 8081; }");
        Write("conf/s2/x.conf", "server { listen 8082; }");
        Write("conf/s3/x.conf", "server { listen 8083; }");
        LoadedConfig loaded = Load("events {} http { include s[12]/?.conf; }");
        Assert.Equal([8081, 8082], loaded.Config.Http!.Servers.Select(s => s.Listens[0].Port));
    }

    [Fact]
    public void Glob_matching_nothing_is_fine()
    {
        LoadedConfig loaded = Load("events {} http { include nothing/*.conf; }");
        Assert.Empty(loaded.Config.Http!.Servers);
    }

    [Fact]
    public void Missing_plain_include_is_an_open_error()
    {
        var e = Assert.Throws<ConfigException>(() => Load("events {}\ninclude /x/y;"));
        Assert.Equal("open() \"/x/y\" failed (2: No such file or directory)", e.Detail);
        Assert.Equal(2, e.Where!.Value.Line);
    }

    [Fact]
    public void Include_recursion_is_detected()
    {
        Write("conf/a.inc", "include b.inc;");
        Write("conf/b.inc", "include a.inc;");
        var e = Assert.Throws<ConfigException>(() => Load("include a.inc;"));
        Assert.StartsWith("recursive include of", e.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Same_file_may_be_included_twice_in_sequence()
    {
        Write("conf/h.inc", "add_header X-A 1;");
        LoadedConfig loaded = Load("events {} http { server { location /a { include h.inc; } location /b { include h.inc; } } }");
        Assert.All(loaded.Config.Http!.Servers[0].Locations, l => Assert.Single(l.Settings.AddHeaders));
    }

    [Fact]
    public void Files_lists_every_file_read_in_order()
    {
        Write("conf/one.inc", "include two.inc;");
        Write("conf/two.inc", "");
        LoadedConfig loaded = Load("include one.inc;");
        Assert.Equal(["main.conf", "one.inc", "two.inc"], loaded.Files.Select(f => Path.GetFileName(f.Path)));
        Assert.Equal("include one.inc;", loaded.Files[0].Text);
    }

    [Fact]
    public void Missing_mime_types_falls_back_to_the_embedded_copy()
    {
        LoadedConfig loaded = Load("events {} http { include mime.types; }");
        Assert.Equal("text/css", loaded.Config.Http!.Settings.Types["css"]);
        Assert.Equal("embedded:mime.types", loaded.Files[1].Path);
    }

    [Fact]
    public void Local_mime_types_wins_over_the_embedded_copy()
    {
        Write("conf/mime.types", "types { text/x-mine css; }");
        LoadedConfig loaded = Load("events {} http { include mime.types; }");
        Assert.Equal("text/x-mine", loaded.Config.Http!.Settings.Types["css"]);
    }

    [Fact]
    public void Absolute_missing_mime_types_is_an_error()
    {
        var e = Assert.Throws<ConfigException>(() => Load("events {} http { include /nowhere/mime.types; }"));
        Assert.StartsWith("open() \"/nowhere/mime.types\" failed", e.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Errors_in_included_files_cite_the_included_file()
    {
        string inc = Write("conf/bad.inc", "\n\nnope;");
        var e = Assert.Throws<ConfigException>(() => Load("events {}\ninclude bad.inc;"));
        Assert.Equal(new SourceLocation(inc, 3), e.Where);
    }

    [Fact]
    public void Closing_brace_at_top_of_included_file_is_unexpected()
    {
        Write("conf/brace.inc", "}");
        var e = Assert.Throws<ConfigException>(() => Load("events {} http { include brace.inc; }"));
        Assert.Equal("unexpected \"}\"", e.Detail);
    }
}
