using Portico.Config.Syntax;

namespace Portico.Config.Tests;

public sealed class LexerTests
{
    private static List<ConfigDirective> Parse(string text)
    {
        try
        {
            return new Parser(new IncludeResolver("/nonexistent", [])).ParseFile(text, "/t.conf");
        }
        catch (IncompleteParseException e)
        {
            throw e.Error;
        }
    }

    [Fact]
    public void Directive_arguments_are_split_on_whitespace()
    {
        ConfigDirective d = Assert.Single(Parse("a  b\tc\n d;"));
        Assert.Equal("a", d.Name);
        Assert.Equal(["b", "c", "d"], d.Args);
        Assert.Null(d.Block);
    }

    [Fact]
    public void Double_and_single_quotes_unescape_quotes_and_backslashes()
    {
        ConfigDirective d = Assert.Single(Parse("x \"a \\\"b\\\" c\" 'it\\'s' \"a\\\\b\";"));
        Assert.Equal(["a \"b\" c", "it's", "a\\b"], d.Args);
    }

    [Fact]
    public void Escapes_t_r_n_become_control_characters()
    {
        ConfigDirective d = Assert.Single(Parse("x \"a\\tb\\rc\\nd\";"));
        Assert.Equal("a\tb\rc\nd", d.Args[0]);
    }

    [Fact]
    public void Other_backslashes_are_kept_for_regexes()
    {
        ConfigDirective d = Assert.Single(Parse("x ^/a\\.php(\\d+)$ \"\\w\";"));
        Assert.Equal(["^/a\\.php(\\d+)$", "\\w"], d.Args);
    }

    [Fact]
    public void Escaped_space_does_not_split_a_word()
    {
        ConfigDirective d = Assert.Single(Parse("x a\\ b;"));
        Assert.Equal("a\\ b", d.Args[0]);
    }

    [Fact]
    public void Hash_starts_a_comment_only_at_token_start()
    {
        List<ConfigDirective> list = Parse("# whole line\nx a#b; # trailing\n#y;\n");
        ConfigDirective d = Assert.Single(list);
        Assert.Equal(["a#b"], d.Args);
    }

    [Fact]
    public void Variables_stay_as_text_including_braced_form()
    {
        ConfigDirective d = Assert.Single(Parse("x $uri${args}end;"));
        Assert.Equal("$uri${args}end", d.Args[0]);
    }

    [Fact]
    public void Brace_adjacent_argument_opens_a_block()
    {
        ConfigDirective d = Assert.Single(Parse("location /x{root /a;}"));
        Assert.Equal(["/x"], d.Args);
        ConfigDirective child = Assert.Single(d.Block!);
        Assert.Equal("root", child.Name);
    }

    [Fact]
    public void Closing_brace_inside_a_word_belongs_to_the_word()
    {
        var e = Assert.Throws<ConfigException>(() => Parse("a { b c}"));
        Assert.Equal("unexpected end of file, expecting \";\" or \"}\"", e.Detail);
    }

    [Fact]
    public void Quoted_empty_string_is_an_argument()
    {
        ConfigDirective d = Assert.Single(Parse("server_name \"\";"));
        Assert.Equal([""], d.Args);
    }

    [Fact]
    public void Lines_are_those_of_the_terminating_token()
    {
        List<ConfigDirective> list = Parse("a 1;\n\nb\n 2\n 3;\nc {\n d;\n}\n");
        Assert.Equal([1, 5, 6], list.Select(d => d.Where.Line));
        Assert.Equal(7, list[2].Block![0].Where.Line);
        Assert.Equal("/t.conf", list[0].Where.File);
    }

    [Fact]
    public void Quoted_string_spanning_lines_counts_lines()
    {
        List<ConfigDirective> list = Parse("a \"x\ny\";\nb;");
        Assert.Equal("x\ny", list[0].Args[0]);
        Assert.Equal([2, 3], list.Select(d => d.Where.Line));
    }

    [Theory]
    [InlineData("a;}", "unexpected \"}\"", 1)]
    [InlineData("a {\n", "unexpected end of file, expecting \"}\"", 2)]
    [InlineData("a b", "unexpected end of file, expecting \";\" or \"}\"", 1)]
    [InlineData("a \"b", "unexpected end of file, expecting \";\" or \"}\"", 1)]
    [InlineData(";", "unexpected \";\"", 1)]
    [InlineData("\n{", "unexpected \"{\"", 2)]
    [InlineData("a \"b\"c;", "unexpected \"c\"", 1)]
    [InlineData("a b }", "unexpected \"}\"", 1)]
    public void Syntax_errors_use_nginx_words_and_lines(string text, string message, int line)
    {
        var e = Assert.Throws<ConfigException>(() => Parse(text));
        Assert.Equal(message, e.Detail);
        Assert.Equal(line, e.Where!.Value.Line);
        Assert.Equal($"[emerg] {message} in /t.conf:{line}", e.ToString());
    }

    [Fact]
    public void Quote_followed_by_closing_paren_is_allowed()
    {
        ConfigDirective d = Assert.Single(Parse("if ($a = \"b\") { }"));
        Assert.Equal(["($a", "=", "b", ")"], d.Args);
    }
}
