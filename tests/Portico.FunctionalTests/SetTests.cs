using Portico.Config;

namespace Portico.FunctionalTests;

/// <summary>
/// <c>set $name value</c> (https://nginx.org/en/docs/http/ngx_http_rewrite_module.html#set): evaluated where it stands
/// among the level's rewrite steps (the server's before a location is chosen, the location's after), readable
/// anywhere, empty where it never ran; names of variables nginx computes are refused at load.
/// </summary>
public sealed class SetTests
{
    private const string Config = """
        http {
            access_log off;
            default_type text/plain;
            server {
                listen 127.0.0.1:{port};
                server_name localhost;
                set $Level server;
                set $first $uri;
                location /a/ {
                    set $level "location after $level";
                    set $greeting "hello $arg_name";
                    return 200 "$greeting|$LEVEL|$first";
                }
                location /order/ {
                    return 200 "before:$late|";
                    set $late never;
                }
                location /unset/ { return 200 "[$only_elsewhere]"; }
                location /elsewhere/ { set $only_elsewhere x; return 204; }
            }
        }
        """;

    [Fact]
    public async Task Values_are_evaluated_in_order_and_read_case_insensitively()
    {
        await using var server = await PorticoServer.StartAsync(Config);
        var response = await server.GetAsync("/a/x?name=ann");
        Assert.Equal(200, response.Status);
        Assert.Equal("hello ann|location after server|/a/x", response.BodyText);
    }

    [Fact]
    public async Task A_set_after_return_never_runs_and_one_that_never_ran_is_empty()
    {
        await using var server = await PorticoServer.StartAsync(Config);
        Assert.Equal("before:|", (await server.GetAsync("/order/")).BodyText);
        Assert.Equal("[]", (await server.GetAsync("/unset/")).BodyText);
    }

    [Theory]
    [InlineData("set $uri /x;", "the duplicate \"uri\" variable")]
    [InlineData("set $fastcgi_path_info /x;", "the duplicate \"fastcgi_path_info\" variable")]
    [InlineData("set $http_x_a 1;", "setting \"$http_x_a\" is not supported by portico")]
    public async Task Setting_a_variable_nginx_computes_is_refused_at_load(string directive, string message)
    {
        var config = Config.Replace("set $Level server;", directive, StringComparison.Ordinal);
        var error = await Assert.ThrowsAsync<ConfigException>(() => PorticoServer.StartAsync(config));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }
}
