namespace Portico;

/// <summary>
/// nginx's command line (<c>[-?hvVtTq] [-s signal] [-p prefix] [-e filename] [-c filename]
/// [-g directives]</c>), so tools that drive nginx can drive Portico, plus <c>--root</c> and
/// <c>--listen</c> for the zero-config mode. Like nginx, an option's value may follow it
/// directly (<c>-cfile</c>) or as the next argument.
/// </summary>
internal sealed class CommandLine
{
    public bool Help { get; private set; }
    public bool Version { get; private set; }
    public bool VersionAndConfigure { get; private set; }
    public bool Test { get; private set; }
    public bool TestAndDump { get; private set; }
    public bool Quiet { get; private set; }
    public string? Signal { get; private set; }
    public string? Prefix { get; private set; }
    public string? ConfigFile { get; private set; }
    public string? ErrorLog { get; private set; }
    public string? GlobalDirectives { get; private set; }
    public string? Root { get; private set; }
    public string? Listen { get; private set; }

    /// <summary>Parses; returns null and sets <paramref name="error"/> (nginx's wording) on a bad argument.</summary>
    public static CommandLine? Parse(string[] args, out string? error)
    {
        error = null;
        var result = new CommandLine();
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (arg == "--root" || arg == "--listen")
            {
                if (i + 1 >= args.Length)
                {
                    error = $"option \"{arg}\" requires a value";
                    return null;
                }

                if (arg == "--root")
                {
                    result.Root = args[++i];
                }
                else
                {
                    result.Listen = args[++i];
                }

                continue;
            }

            if (arg.Length < 2 || arg[0] != '-')
            {
                error = $"invalid option: \"{arg}\"";
                return null;
            }

            for (var p = 1; p < arg.Length; p++)
            {
                var flag = arg[p];
                switch (flag)
                {
                    case '?':
                    case 'h':
                        result.Help = true;
                        continue;
                    case 'v':
                        result.Version = true;
                        continue;
                    case 'V':
                        result.VersionAndConfigure = true;
                        continue;
                    case 't':
                        result.Test = true;
                        continue;
                    case 'T':
                        result.Test = true;
                        result.TestAndDump = true;
                        continue;
                    case 'q':
                        result.Quiet = true;
                        continue;
                    case 's':
                    case 'p':
                    case 'c':
                    case 'e':
                    case 'g':
                        string value;
                        if (p + 1 < arg.Length)
                        {
                            value = arg[(p + 1)..];
                        }
                        else if (i + 1 < args.Length)
                        {
                            value = args[++i];
                        }
                        else
                        {
                            error = flag switch
                            {
                                's' => "option \"-s\" requires parameter",
                                'p' => "option \"-p\" requires directory name",
                                'g' => "option \"-g\" requires parameter",
                                _ => $"option \"-{flag}\" requires file name",
                            };
                            return null;
                        }

                        switch (flag)
                        {
                            case 's':
                                if (value is not ("stop" or "quit" or "reopen" or "reload"))
                                {
                                    error = $"invalid option: \"-s {value}\"";
                                    return null;
                                }

                                result.Signal = value;
                                break;
                            case 'p':
                                result.Prefix = value;
                                break;
                            case 'c':
                                result.ConfigFile = value;
                                break;
                            case 'e':
                                result.ErrorLog = value;
                                break;
                            default:
                                result.GlobalDirectives = value;
                                break;
                        }

                        p = arg.Length;
                        continue;
                    default:
                        error = $"invalid option: \"{arg[p..]}\"";
                        return null;
                }
            }
        }

        return result;
    }
}
