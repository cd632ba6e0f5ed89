using Portico.Config.Directives;
using Portico.Config.Model;

namespace Portico.Config.Tests;

public sealed class LoaderTests
{
    private static PorticoConfig Load(string text, bool root = true) =>
        ConfigLoader.LoadText(text, "/etc/portico/portico.conf", "/srv/prefix", null, root).Config;

    [Fact]
    public void Defaults_are_nginx_defaults()
    {
        LocationSettings s = Load("events {} http { server { } }").Http!.Servers[0].Settings;
        Assert.Equal("/srv/prefix/html", s.Root.Text);
        Assert.Equal(["index.html"], s.Index.Select(i => i.Text));
        Assert.Empty(s.AccessLogs);
        Assert.False(s.AccessLogOff);
        Assert.Equal("text/plain", s.DefaultType);
        Assert.Equal("text/html", s.Types["html"]);
        Assert.Equal(1024 * 1024, s.ClientMaxBodySize);
        Assert.Equal(TimeSpan.FromSeconds(75), s.KeepaliveTimeout);
        Assert.True(s.Etag);
    }

    [Fact]
    public void Default_listen_is_port_8000_when_not_root()
    {
        ServerConfig server = Load("events {} http { server { } }", root: false).Http!.Servers[0];
        Assert.Equal("*:8000", server.Listens[0].EndpointText);
    }

    [Fact]
    public void Default_main_error_log_is_under_the_prefix()
    {
        ErrorLogConfig log = Assert.Single(Load("events {}").ErrorLogs);
        Assert.Equal("/srv/prefix/logs/error.log", log.File);
        Assert.Equal(LogLevel.Error, log.Level);
    }

    [Fact]
    public void Missing_events_block_is_accepted()
    {
        Assert.NotNull(Load("http { }").Http);
    }

    [Fact]
    public void Scalar_settings_inherit_and_lists_replace()
    {
        PorticoConfig c = Load("""
            events {}
            http {
                add_header A 1;
                add_header B 2;
                client_max_body_size 2m;
                server {
                    location / { add_header C 3; }
                    location /x { client_max_body_size 3m; location /x/y { } }
                }
            }
            """);
        ServerConfig server = c.Http!.Servers[0];
        Assert.Equal(["A", "B"], server.Settings.AddHeaders.Select(h => h.Name));
        Assert.Equal(["C"], server.Locations[0].Settings.AddHeaders.Select(h => h.Name));
        Assert.Equal(2 * 1024 * 1024, server.Locations[0].Settings.ClientMaxBodySize);
        Assert.Equal(3 * 1024 * 1024, server.Locations[1].Locations[0].Settings.ClientMaxBodySize);
        Assert.Equal(["A", "B"], server.Locations[1].Locations[0].Settings.AddHeaders.Select(h => h.Name));
    }

    [Fact]
    public void Relative_root_with_variables_resolves_against_the_prefix()
    {
        LocationSettings s = Load("events {} http { root www/$host; }").Http!.Settings;
        Assert.Equal("/srv/prefix/www/$host", s.Root.Text);
        Assert.True(s.Root.HasVariables);
    }

    [Fact]
    public void Root_starting_with_a_variable_is_kept_as_written()
    {
        LocationSettings s = Load("events {} http { root $base/www; }").Http!.Settings;
        Assert.Equal("$base/www", s.Root.Text);
    }

    [Fact]
    public void Trailing_slash_is_dropped_from_root_but_kept_on_alias()
    {
        LocationConfig l = Load("events {} http { root /a/; server { location /x/ { alias /b/; } } }").Http!.Servers[0].Locations[0];
        Assert.Equal("/a", l.Settings.Root.Text);
        Assert.Equal("/b/", l.Settings.Alias!.Text);
    }

    [Fact]
    public void Root_location_is_the_directive_line()
    {
        LocationSettings s = Load("events {}\nhttp {\n root /a;\n}").Http!.Settings;
        Assert.Equal(new SourceLocation("/etc/portico/portico.conf", 3), s.Root.Where);
    }

    [Fact]
    public void Global_directives_are_parsed_before_the_file()
    {
        var e = Assert.Throws<ConfigException>(() =>
            ConfigLoader.LoadText("events {}\npid a.pid;", "/etc/p.conf", "/p", "pid b.pid;"));
        Assert.Equal("\"pid\" directive is duplicate in /etc/p.conf:2", e.Message);
    }

    [Fact]
    public void Global_directive_errors_are_in_command_line()
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.LoadText("events {}", "/etc/p.conf", "/p", "root /x;"));
        Assert.Equal("[emerg] \"root\" directive is not allowed here in command line", e.ToString());
    }

    [Fact]
    public void Load_of_a_missing_file_is_an_open_error()
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Load("/nonexistent/portico.conf", "/p"));
        Assert.Equal("open() \"/nonexistent/portico.conf\" failed (2: No such file or directory)", e.Message);
    }

    [Fact]
    public void Directive_error_before_a_syntax_error_is_reported_first()
    {
        var e = Assert.Throws<ConfigException>(() => Load("events {}\nhttp {\n    root;\n    server {\n"));
        Assert.Equal("invalid number of arguments in \"root\" directive in /etc/portico/portico.conf:3", e.Message);
    }

    [Fact]
    public void Block_directive_error_is_reported_at_its_opening_brace()
    {
        var e = Assert.Throws<ConfigException>(() => Load("events {}\nhttp {\n    add_header X a{b;\n}\n"));
        Assert.Equal("directive \"add_header\" is not terminated by \";\" in /etc/portico/portico.conf:3", e.Message);
    }

    [Fact]
    public void Syntax_error_inside_an_upstream_is_not_reported_as_empty_upstream()
    {
        var e = Assert.Throws<ConfigException>(() => Load("events {}\nhttp {\n    upstream a {\n"));
        Assert.Equal("unexpected end of file, expecting \"}\"", e.Detail);
    }

    [Fact]
    public void Server_name_hostname_is_the_machine_name()
    {
        ServerNameConfig name = Load("events {} http { server { server_name $hostname; } }").Http!.Servers[0].Names[0];
        Assert.Equal(Environment.MachineName.ToLowerInvariant(), name.Text);
        Assert.Equal(ServerNameKind.Exact, name.Kind);
    }

    [Fact]
    public void Dot_name_is_exact_plus_wildcard()
    {
        IReadOnlyList<ServerNameConfig> names = Load("events {} http { server { server_name .Example.com; } }").Http!.Servers[0].Names;
        Assert.Equal([("example.com", ServerNameKind.Exact), ("*.example.com", ServerNameKind.WildcardPrefix)], names.Select(n => (n.Text, n.Kind)));
    }

    [Fact]
    public void Fastcgi_pass_is_not_inherited_by_nested_locations()
    {
        LocationConfig outer = Load("events {} http { server { location / { fastcgi_pass 127.0.0.1:9000; location /a { } } } }").Http!.Servers[0].Locations[0];
        Assert.Equal(9000, outer.Settings.FastCgi.Pass!.Port);
        Assert.Null(outer.Locations[0].Settings.FastCgi.Pass);
    }

    [Fact]
    public void Config_is_loaded_the_same_way_twice()
    {
        const string text = "events {} http { server { listen 81; location / { root /x; } } }";
        Assert.Equal(ConfigDump.Dump(Load(text)), ConfigDump.Dump(Load(text)));
    }

    [Fact]
    public void Pcre_named_groups_are_translated_for_dotnet()
    {
        LocationConfig l = Load("events {} http { server { location ~ ^/(?P<a>x)(?P=a)$ { } } }").Http!.Servers[0].Locations[0];
        Assert.Equal("^/(?<a>x)\\k<a>$", l.Pattern);
    }

    [Fact]
    public void Unsupported_list_and_supported_table_do_not_overlap()
    {
        Assert.DoesNotContain(DirectiveTable.SupportedNames, UnsupportedDirectives.Contains);
    }
}
