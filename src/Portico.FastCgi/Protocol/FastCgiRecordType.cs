namespace Portico.FastCgi.Protocol;

/// <summary>Record types of FastCGI 1.0, spec section 8 ("Types and Constants").</summary>
internal enum FastCgiRecordType : byte
{
    BeginRequest = 1,
    AbortRequest = 2,
    EndRequest = 3,
    Params = 4,
    Stdin = 5,
    Stdout = 6,
    Stderr = 7,
    Data = 8,
    GetValues = 9,
    GetValuesResult = 10,
    UnknownType = 11,
}
