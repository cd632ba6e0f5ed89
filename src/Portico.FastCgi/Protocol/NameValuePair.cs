using System.Text;

namespace Portico.FastCgi.Protocol;

/// <summary>One CGI parameter as raw bytes. FastCGI names and values are opaque bytes (spec section 3.4);
/// strings are encoded as UTF-8.</summary>
public readonly struct NameValuePair
{
    public NameValuePair(ReadOnlyMemory<byte> name, ReadOnlyMemory<byte> value)
    {
        Name = name;
        Value = value;
    }

    public NameValuePair(string name, string value)
        : this(Encoding.UTF8.GetBytes(name), Encoding.UTF8.GetBytes(value))
    {
    }

    public ReadOnlyMemory<byte> Name { get; }

    public ReadOnlyMemory<byte> Value { get; }

    public override string ToString() => Encoding.UTF8.GetString(Name.Span) + "=" + Encoding.UTF8.GetString(Value.Span);
}
