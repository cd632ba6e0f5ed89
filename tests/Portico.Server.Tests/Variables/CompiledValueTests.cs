using Portico.Config;
using Portico.Config.Model;
using Portico.Server.Variables;

namespace Portico.Server.Tests.Variables;

public sealed class CompiledValueTests
{
    private static CompiledValue Compile(string text, VariableScope? scope = null)
        => CompiledValue.Compile(new ConfigValue(text, TestRequests.Where), scope ?? VariableScope.Default);

    [Fact]
    public void Text_without_variables_is_constant()
    {
        var value = Compile("/srv/www");
        Assert.True(value.IsConstant);
        Assert.Equal("/srv/www", value.Constant);
        Assert.Equal("/srv/www", value.Evaluate(TestRequests.Get()));
    }

    [Fact]
    public void Variables_plain_and_braced_are_substituted()
    {
        var value = Compile("$scheme://${host}x$uri?$args");
        Assert.False(value.IsConstant);
        Assert.Equal("http://127.0.0.1x/a/b?q=1", value.Evaluate(TestRequests.Get("/a/b?q=1")));
    }

    [Fact]
    public void Variable_names_are_case_insensitive_like_nginx()
        => Assert.Equal("/a", Compile("$URI").Evaluate(TestRequests.Get("/a")));

    [Fact]
    public void Captures_take_one_digit_and_missing_ones_are_empty()
    {
        var ctx = TestRequests.Get();
        ctx.Captures = ["/ab", "a", "b"];
        Assert.Equal("a2|b|", Compile("$12|$2|$7").Evaluate(ctx));
    }

    [Fact]
    public void Named_captures_declared_in_scope_read_the_request_captures()
    {
        var scope = VariableScope.Default.WithNamedCaptures(["sub"]);
        var ctx = TestRequests.Get();
        ctx.NamedCaptures = new Dictionary<string, string> { ["sub"] = "www" };
        Assert.Equal("www.example", Compile("$sub.example", scope).Evaluate(ctx));
    }

    [Fact]
    public void Handler_variables_read_user_variables_and_are_empty_when_unset()
    {
        var value = Compile("[$upstream_addr]");
        var ctx = TestRequests.Get();
        Assert.Equal("[]", value.Evaluate(ctx));
        ctx.UserVariables = new Dictionary<string, string> { ["upstream_addr"] = "127.0.0.1:9000" };
        Assert.Equal("[127.0.0.1:9000]", value.Evaluate(ctx));
    }

    [Fact]
    public void Fastcgi_script_name_defaults_to_the_uri()
    {
        // ngx_http_fastcgi_script_name_variable: without fastcgi_split_path_info it is $uri.
        var ctx = TestRequests.Get("/app/x.php");
        Assert.Equal("[/app/x.php]", Compile("[$fastcgi_script_name]").Evaluate(ctx));
    }

    [Fact]
    public void Set_variables_are_known_once_declared()
    {
        Assert.Throws<ConfigException>(() => Compile("$foo"));
        var value = Compile("$foo", VariableScope.Default.WithUserVariables(["foo"]));
        var ctx = TestRequests.Get();
        ctx.UserVariables = new Dictionary<string, string> { ["foo"] = "bar" };
        Assert.Equal("bar", value.Evaluate(ctx));
    }

    [Theory]
    [InlineData("/srv/www")]
    [InlineData("")]
    [InlineData("$remote_addr:$remote_port>$server_addr:$server_port")]
    [InlineData("$document_root$fastcgi_script_name")]
    [InlineData("[$args][$upstream_addr][$http_x_missing]")]
    [InlineData("café/$http_x_name/$request_uri")]
    [InlineData("$status $connection_requests $pid")]
    [InlineData("$request_uri")]
    [InlineData("$http_x_name")]
    [InlineData("$http_x_missing")]
    [InlineData("$remote_addr")]
    public void Written_utf8_is_the_evaluated_value_and_too_small_a_room_is_refused(string text)
    {
        var value = Compile(text);
        var ctx = TestRequests.Get("/app/x.php?q=1", http => http.Request.Headers["X-Name"] = "Zoë");
        ctx.DocumentRoot = "/srv/www";
        var expected = System.Text.Encoding.UTF8.GetBytes(value.Evaluate(ctx));
        var room = new byte[expected.Length + 8];

        Assert.True(value.TryWriteUtf8(ctx, room, out var written));
        Assert.Equal(expected, room[..written]);

        // One byte short of the value: refused, so the caller takes the string path instead of sending a cut value.
        if (expected.Length > 0)
        {
            Assert.False(value.TryWriteUtf8(ctx, new byte[expected.Length - 1], out var none));
            Assert.Equal(0, none);
        }
    }

    [Theory]
    [InlineData("$foo", "unknown \"foo\" variable in /etc/portico/test.conf:7")]
    [InlineData("$FOO", "unknown \"foo\" variable in /etc/portico/test.conf:7")]
    [InlineData("$0", "unknown \"0\" variable in /etc/portico/test.conf:7")]
    [InlineData("${1}", "unknown \"1\" variable in /etc/portico/test.conf:7")]
    [InlineData("$http_", "unknown \"http_\" variable in /etc/portico/test.conf:7")]
    [InlineData("a$", "invalid variable name in /etc/portico/test.conf:7")]
    [InlineData("$ x", "invalid variable name in /etc/portico/test.conf:7")]
    [InlineData("${", "invalid variable name in /etc/portico/test.conf:7")]
    [InlineData("${host", "the closing bracket in \"host\" variable is missing in /etc/portico/test.conf:7")]
    [InlineData("${ho-st}", "the closing bracket in \"ho\" variable is missing in /etc/portico/test.conf:7")]
    public void Bad_references_are_rejected_with_nginx_text(string text, string message)
    {
        var e = Assert.Throws<ConfigException>(() => Compile(text));
        Assert.Equal(message, e.Message);
    }
}
