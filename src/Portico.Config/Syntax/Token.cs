namespace Portico.Config.Syntax;

internal enum TokenKind
{
    Word,
    Semicolon,
    BlockStart,
    BlockEnd,
    EndOfFile,
}

internal readonly record struct Token(TokenKind Kind, string Text, int Line);
