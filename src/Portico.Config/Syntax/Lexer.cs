using System.Text;

namespace Portico.Config.Syntax;

/// <summary>
/// nginx's tokenizer (ngx_conf_read_token), rule for rule:
/// words end at whitespace, <c>;</c> or <c>{</c> (a <c>}</c> inside a word is part of the word);
/// <c>}</c>, <c>;</c>, <c>{</c> and <c>#</c> are only special at the start of a token;
/// a quoted string must be followed by whitespace, <c>;</c>, <c>{</c> or <c>)</c>;
/// <c>${</c> does not start a block; a backslash protects the next character while scanning,
/// and afterwards only <c>\"</c>, <c>\'</c>, <c>\\</c>, <c>\t</c>, <c>\r</c>, <c>\n</c> are unescaped
/// (other backslashes are kept, so regexes survive). Variables stay as text.
/// </summary>
internal sealed class Lexer
{
    private readonly string _text;
    private readonly string _file;
    private readonly bool _commandLine;
    private int _pos;
    private int _line = 1;
    private bool _needSpace;

    public Lexer(string text, string file, bool commandLine = false)
    {
        _text = text;
        _file = file;
        _commandLine = commandLine;
    }

    /// <summary>The current line: what nginx cites for errors found at this point.</summary>
    public int Line => _line;

    public SourceLocation Here => _commandLine ? new SourceLocation("command line", 0) : new SourceLocation(_file, _line);

    /// <summary>Reads the next token; <paramref name="argsPending"/> says whether a directive has started (changes the EOF error).</summary>
    public Token Next(bool argsPending)
    {
        while (true)
        {
            if (_pos >= _text.Length)
            {
                if (argsPending)
                {
                    throw UnexpectedEnd();
                }

                return new Token(TokenKind.EndOfFile, "", _line);
            }

            char ch = _text[_pos];

            if (_needSpace)
            {
                if (IsSpace(ch))
                {
                    Advance();
                    _needSpace = false;
                    continue;
                }

                if (ch == ';')
                {
                    Advance();
                    _needSpace = false;
                    return new Token(TokenKind.Semicolon, ";", _line);
                }

                if (ch == '{')
                {
                    Advance();
                    _needSpace = false;
                    return new Token(TokenKind.BlockStart, "{", _line);
                }

                if (ch != ')')
                {
                    throw new ConfigException($"unexpected \"{ch}\"", Here);
                }

                _needSpace = false;
            }

            if (IsSpace(ch))
            {
                Advance();
                continue;
            }

            switch (ch)
            {
                case ';':
                    Advance();
                    return new Token(TokenKind.Semicolon, ";", _line);
                case '{':
                    Advance();
                    return new Token(TokenKind.BlockStart, "{", _line);
                case '}':
                    Advance();
                    return new Token(TokenKind.BlockEnd, "}", _line);
                case '#':
                    while (_pos < _text.Length && _text[_pos] != '\n')
                    {
                        _pos++;
                    }

                    continue;
                case '"':
                case '\'':
                    return ReadQuoted(ch);
                default:
                    return ReadWord();
            }
        }
    }

    private ConfigException UnexpectedEnd() => _commandLine
        ? new ConfigException("unexpected end of parameter, expecting \";\"", Here)
        : new ConfigException("unexpected end of file, expecting \";\" or \"}\"", Here);

    private Token ReadQuoted(char quote)
    {
        Advance();
        int start = _pos;
        while (true)
        {
            if (_pos >= _text.Length)
            {
                throw UnexpectedEnd();
            }

            char ch = _text[_pos];
            if (ch == '\\')
            {
                Advance();
                if (_pos < _text.Length)
                {
                    Advance();
                }

                continue;
            }

            if (ch == quote)
            {
                string word = Unescape(_text.AsSpan(start, _pos - start));
                Advance();
                _needSpace = true;
                return new Token(TokenKind.Word, word, _line);
            }

            Advance();
        }
    }

    private Token ReadWord()
    {
        int start = _pos;
        bool variable = false;
        while (_pos < _text.Length)
        {
            char ch = _text[_pos];
            if (ch == '{' && variable)
            {
                // "${name}" keeps its braces: the runtime compiles the variable.
                variable = false;
                Advance();
                continue;
            }

            variable = false;
            if (ch == '\\')
            {
                Advance();
                if (_pos < _text.Length)
                {
                    Advance();
                }

                continue;
            }

            if (ch == '$')
            {
                variable = true;
                Advance();
                continue;
            }

            if (IsSpace(ch) || ch == ';' || ch == '{')
            {
                break;
            }

            Advance();
        }

        if (_pos >= _text.Length)
        {
            // A word cut off by the end of the file is a directive without ";".
            throw UnexpectedEnd();
        }

        return new Token(TokenKind.Word, Unescape(_text.AsSpan(start, _pos - start)), _line);
    }

    private static string Unescape(ReadOnlySpan<char> raw)
    {
        if (raw.IndexOf('\\') < 0)
        {
            return raw.ToString();
        }

        var sb = new StringBuilder(raw.Length);
        for (int i = 0; i < raw.Length; i++)
        {
            char ch = raw[i];
            if (ch == '\\' && i + 1 < raw.Length)
            {
                switch (raw[i + 1])
                {
                    case '"' or '\'' or '\\':
                        sb.Append(raw[i + 1]);
                        i++;
                        continue;
                    case 't':
                        sb.Append('\t');
                        i++;
                        continue;
                    case 'r':
                        sb.Append('\r');
                        i++;
                        continue;
                    case 'n':
                        sb.Append('\n');
                        i++;
                        continue;
                }
            }

            sb.Append(ch);
        }

        return sb.ToString();
    }

    private void Advance()
    {
        if (_text[_pos] == '\n')
        {
            _line++;
        }

        _pos++;
    }

    private static bool IsSpace(char ch) => ch is ' ' or '\t' or '\r' or '\n';
}
