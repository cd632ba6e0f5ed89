using System.Globalization;
using Portico.Config.Syntax;

namespace Portico.Config.Directives;

/// <summary>nginx's value parsers (ngx_atoi, ngx_parse_size, ngx_parse_time, the flag slot) and their errors.</summary>
internal static class Values
{
    /// <summary>ngx_atoi: decimal digits only, no sign; null on error.</summary>
    public static int? Int(ReadOnlySpan<char> s)
    {
        if (s.Length == 0 || s.Length > 10 || s.ContainsAnyExceptInRange('0', '9'))
        {
            return null;
        }

        long v = long.Parse(s, NumberStyles.None, CultureInfo.InvariantCulture);
        return v > int.MaxValue ? null : (int)v;
    }

    /// <summary>ngx_parse_size / ngx_parse_offset: digits with an optional k, m or g suffix.</summary>
    public static long? Size(ReadOnlySpan<char> s)
    {
        if (s.Length == 0)
        {
            return null;
        }

        long scale = char.ToLowerInvariant(s[^1]) switch
        {
            'k' => 1024,
            'm' => 1024 * 1024,
            'g' => 1024 * 1024 * 1024,
            _ => 1,
        };
        ReadOnlySpan<char> digits = scale == 1 ? s : s[..^1];
        if (digits.Length == 0 || digits.Length > 15 || digits.ContainsAnyExceptInRange('0', '9'))
        {
            return null;
        }

        return long.Parse(digits, NumberStyles.None, CultureInfo.InvariantCulture) * scale;
    }

    /// <summary>
    /// ngx_parse_time: NUMBER[UNIT] groups with units y M w d h m s (and ms unless
    /// <paramref name="seconds"/>), in decreasing order, optionally separated by spaces; a bare
    /// trailing number is seconds. https://nginx.org/en/docs/syntax.html
    /// </summary>
    public static TimeSpan? Time(ReadOnlySpan<char> s, bool seconds)
    {
        if (s.Length == 0)
        {
            return null;
        }

        long totalMs = 0;
        int i = 0;
        int lastRank = int.MaxValue;
        while (i < s.Length)
        {
            int start = i;
            while (i < s.Length && char.IsAsciiDigit(s[i]))
            {
                i++;
            }

            if (i == start || i - start > 12)
            {
                return null;
            }

            long value = long.Parse(s[start..i], NumberStyles.None, CultureInfo.InvariantCulture);
            int rank;
            long unitMs;
            if (i == s.Length)
            {
                (rank, unitMs) = (3, 1000);
            }
            else if (s[i..].StartsWith("ms"))
            {
                (rank, unitMs) = (2, 1);
                i += 2;
            }
            else
            {
                (rank, unitMs) = s[i] switch
                {
                    'y' => (9, 365L * 24 * 3600 * 1000),
                    'M' => (8, 30L * 24 * 3600 * 1000),
                    'w' => (7, 7L * 24 * 3600 * 1000),
                    'd' => (6, 24L * 3600 * 1000),
                    'h' => (5, 3600L * 1000),
                    'm' => (4, 60L * 1000),
                    's' => (3, 1000L),
                    _ => (0, 0L),
                };
                i++;
            }

            if (rank == 0 || rank >= lastRank || (rank == 2 && seconds))
            {
                return null;
            }

            lastRank = rank;
            totalMs += value * unitMs;
            while (i < s.Length && s[i] == ' ')
            {
                i++;
            }
        }

        return TimeSpan.FromMilliseconds(totalMs);
    }

    /// <summary>ngx_conf_set_flag_slot's value check.</summary>
    public static bool Flag(ConfigDirective d, int index = 0)
    {
        string v = d.Args[index];
        if (v.Equals("on", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        if (v.Equals("off", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        throw new ConfigException($"invalid value \"{v}\" in \"{d.Name}\" directive, it must be \"on\" or \"off\"", d.Where);
    }

    public static long SizeArg(ConfigDirective d, int index = 0) =>
        Size(d.Args[index]) ?? throw BindContext.DirectiveError(d, "invalid value");

    public static TimeSpan TimeArg(ConfigDirective d, int index = 0, bool seconds = false) =>
        Time(d.Args[index], seconds) ?? throw BindContext.DirectiveError(d, "invalid value");

    public static int NumberArg(ConfigDirective d, int index = 0) =>
        Int(d.Args[index]) ?? throw BindContext.DirectiveError(d, "invalid number");

    /// <summary>ngx_conf_set_enum_slot: <c>invalid value "x"</c>.</summary>
    public static T Enum<T>(ConfigDirective d, params (string Name, T Value)[] values) => EnumValue(d, d.Args[0], values);

    /// <summary>One argument of an enum or bitmask slot: <c>invalid value "x"</c>.</summary>
    public static T EnumValue<T>(ConfigDirective d, string v, (string Name, T Value)[] values)
    {
        foreach ((string name, T value) in values)
        {
            if (v.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return value;
            }
        }

        throw BindContext.Error(d, $"invalid value \"{v}\"");
    }
}
