namespace Portico.Config.Syntax;

/// <summary>
/// Builds the directive tree from tokens, following ngx_conf_parse: a directive ends at <c>;</c>
/// or opens a block at <c>{</c>; <c>}</c> closes a block (and is an error at file level);
/// <c>include</c> is expanded in place, in whatever block it appears, as nginx does.
/// </summary>
/// <remarks>
/// nginx handles each directive as soon as it is read, so an error in a directive is reported
/// before a syntax error further down. To keep that order, a syntax error comes with the tree
/// read so far (<see cref="IncompleteParseException"/>); the loader binds that part first.
/// </remarks>
internal sealed class Parser
{
    private readonly IncludeResolver _includes;

    public Parser(IncludeResolver includes)
    {
        _includes = includes;
    }

    /// <summary>Parses a whole file (or the <c>-g</c> text when <paramref name="commandLine"/>).</summary>
    /// <exception cref="IncompleteParseException">A syntax error, with the directives read before it.</exception>
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
            Token token;
            try
            {
                token = lexer.Next(args.Count > 0);
            }
            catch (ConfigException e)
            {
                throw new IncompleteParseException(list, e);
            }

            switch (token.Kind)
            {
                case TokenKind.Word:
                    args.Add(token.Text);
                    break;

                case TokenKind.Semicolon:
                    if (args.Count == 0)
                    {
                        throw new IncompleteParseException(list, new ConfigException("unexpected \";\"", lexer.Here));
                    }

                    AddDirective(list, args, null, lexer.Here, 0);
                    args = [];
                    break;

                case TokenKind.BlockStart:
                    if (args.Count == 0)
                    {
                        throw new IncompleteParseException(list, new ConfigException("unexpected \"{\"", lexer.Here));
                    }

                    SourceLocation where = lexer.Here;
                    List<ConfigDirective> children;
                    try
                    {
                        children = ParseBlock(lexer, inBlock: true);
                    }
                    catch (IncompleteParseException inner)
                    {
                        list.Add(MakeDirective(args, inner.Partial, where, 0) with { Truncated = true });
                        throw new IncompleteParseException(list, inner.Error);
                    }

                    AddDirective(list, args, children, where, lexer.Line);
                    args = [];
                    break;

                case TokenKind.BlockEnd:
                    if (args.Count > 0 || !inBlock)
                    {
                        throw new IncompleteParseException(list, new ConfigException("unexpected \"}\"", lexer.Here));
                    }

                    return list;

                case TokenKind.EndOfFile:
                    if (inBlock)
                    {
                        throw new IncompleteParseException(list, new ConfigException("unexpected end of file, expecting \"}\"", lexer.Here));
                    }

                    return list;
            }
        }
    }

    private static ConfigDirective MakeDirective(List<string> args, List<ConfigDirective>? block, SourceLocation where, int endLine) =>
        new(args[0], args.Count > 1 ? args.GetRange(1, args.Count - 1).ToArray() : [], block, where) { EndLine = endLine };

    private void AddDirective(List<ConfigDirective> list, List<string> args, List<ConfigDirective>? block, SourceLocation where, int endLine)
    {
        // A well-formed include is expanded here; a malformed one stays in the tree so the
        // directive table reports it in nginx's words (arity, "not terminated by ;").
        if (args[0] == "include" && block is null && args.Count == 2)
        {
            try
            {
                foreach (IncludedFile file in _includes.Resolve(args[1], where))
                {
                    try
                    {
                        list.AddRange(ParseFile(file.Text, file.Path));
                    }
                    catch (IncompleteParseException inner)
                    {
                        list.AddRange(inner.Partial);
                        throw new IncompleteParseException(list, inner.Error);
                    }
                    finally
                    {
                        _includes.Leave(file.Path);
                    }
                }
            }
            catch (ConfigException e)
            {
                throw new IncompleteParseException(list, e);
            }

            return;
        }

        list.Add(MakeDirective(args, block, where, endLine));
    }
}

/// <summary>A syntax error together with the directives parsed before it (blocks cut short are <see cref="ConfigDirective.Truncated"/>).</summary>
internal sealed class IncompleteParseException(List<ConfigDirective> partial, ConfigException error)
    : Exception(error.Message, error)
{
    public List<ConfigDirective> Partial { get; } = partial;

    public ConfigException Error { get; } = error;
}
