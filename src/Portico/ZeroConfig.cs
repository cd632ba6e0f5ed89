using System.Text;

namespace Portico;

/// <summary>
/// The configuration used when there is no config file: serve a directory on
/// http://127.0.0.1:8080 with listings, as the original toy did, but safely: loopback only,
/// never outside the directory, and no dot-files (.git, .env) served.
/// </summary>
internal static class ZeroConfig
{
    public const string DefaultListen = "127.0.0.1:8080";

    public static string Text(string root, string listen) =>
        new StringBuilder()
            .Append("# portico zero-config: no configuration file was found\n")
            .Append("error_log stderr notice;\n")
            .Append("http {\n")
            .Append("    include mime.types;\n")
            .Append("    default_type application/octet-stream;\n")
            .Append("    access_log stdout;\n")
            .Append("    server {\n")
            .Append("        listen ").Append(Quote(listen)).Append(";\n")
            .Append("        root ").Append(Quote(root)).Append(";\n")
            .Append("        autoindex on;\n")
            .Append("        location ~ /\\. { return 404; }\n")
            .Append("    }\n")
            .Append("}\n")
            .ToString();

    /// <summary>The URL to print: <c>http://127.0.0.1:8080/</c>; a wildcard listen shows as 127.0.0.1.</summary>
    public static string Url(string listen)
    {
        var value = listen;
        if (int.TryParse(value, out _))
        {
            value = "127.0.0.1:" + value;
        }

        if (value.StartsWith("*:", StringComparison.Ordinal) || value.StartsWith("0.0.0.0:", StringComparison.Ordinal))
        {
            value = "127.0.0.1" + value[value.IndexOf(':', StringComparison.Ordinal)..];
        }

        return "http://" + value + "/";
    }

    private static string Quote(string value) =>
        "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
