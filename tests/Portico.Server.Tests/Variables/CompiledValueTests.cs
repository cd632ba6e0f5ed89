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
    public void Set_variables_are_known_once_declared()
    {
        Assert.Throws<ConfigException>(() => Compile("$foo"));
        var value = Compile("$foo", VariableScope.Default.WithUserVariables(["foo"]));
        var ctx = TestRequests.Get();
        ctx.UserVariables = new Dictionary<string, string> { ["foo"] = "bar" };
        Assert.Equal("bar", value.Evaluate(ctx));
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
