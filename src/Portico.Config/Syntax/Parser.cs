namespace Portico.Config.Syntax;

/// <summary>
/// Builds the directive tree from tokens, following ngx_conf_parse: a directive ends at <c>;</c>
/// or opens a block at <c>{</c>; <c>}</c> closes a block (and is an error at file level);
/// <c>include</c> is expanded in place, in whatever block it appears, as nginx does.
/// </summary>
internal sealed class Parser
{
    private readonly IncludeResolver _includes;

    public Parser(IncludeResolver includes)
    {
        _includes = includes;
    }

    /// <summary>Parses a whole file (or the <c>-g</c> text when <paramref name="commandLine"/>).</summary>
    public List<ConfigDirective> ParseFile(string text, string file, bool commandLine = false)
    {
        var lexer = new Lexer(text, file, commandLine);
        return ParseBlock(lexer, inBlock: false);
    }

    private List<ConfigDirective> ParseBlock(Lexer lexer, bool inBlock)
    {
        var list = new List<ConfigDirective>();
        var args = new List<string>();
        while (true)
        {
            Token token = lexer.Next(args.Count > 0);
            switch (token.Kind)
            {
                case TokenKind.Word:
                    args.Add(token.Text);
                    break;

                case TokenKind.Semicolon:
                    if (args.Count == 0)
                    {
                        throw new ConfigException("unexpected \";\"", lexer.Here);
                    }

                    AddDirective(list, args, null, lexer.Here, 0);
                    args = [];
                    break;

                case TokenKind.BlockStart:
                    if (args.Count == 0)
                    {
                        throw new ConfigException("unexpected \"{\"", lexer.Here);
                    }

                    SourceLocation where = lexer.Here;
                    List<ConfigDirective> children = ParseBlock(lexer, inBlock: true);
                    AddDirective(list, args, children, where, lexer.Line);
                    args = [];
                    break;

                case TokenKind.BlockEnd:
                    if (args.Count > 0 || !inBlock)
                    {
                        throw new ConfigException("unexpected \"}\"", lexer.Here);
                    }

                    return list;

                case TokenKind.EndOfFile:
                    if (inBlock)
                    {
                        throw new ConfigException("unexpected end of file, expecting \"}\"", lexer.Here);
                    }

                    return list;
            }
        }
    }

    private void AddDirective(List<ConfigDirective> list, List<string> args, List<ConfigDirective>? block, SourceLocation where, int endLine)
    {
        string name = args[0];
        string[] rest = args.Count > 1 ? args.GetRange(1, args.Count - 1).ToArray() : [];

        // A well-formed include is expanded here; a malformed one stays in the tree so the
        // directive table reports it in nginx's words (arity, "not terminated by ;").
        if (name == "include" && block is null && rest.Length == 1)
        {
            foreach (IncludedFile file in _includes.Resolve(rest[0], where))
            {
                try
                {
                    list.AddRange(ParseFile(file.Text, file.Path));
                }
                finally
                {
                    _includes.Leave(file.Path);
                }
            }

            return;
        }

        list.Add(new ConfigDirective(name, rest, block, where) { EndLine = endLine });
    }
}
