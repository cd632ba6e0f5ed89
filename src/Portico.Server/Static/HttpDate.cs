namespace Portico.Server.Static;

/// <summary>
/// HTTP dates as nginx writes and reads them. Formatting is the IMF-fixdate of RFC 9110 §5.6.7;
/// parsing is a port of nginx's <c>ngx_parse_http_time</c> (src/core/ngx_parse_time.c), which is
/// deliberately lenient (weekday and zone are not checked) and accepts the IMF-fixdate, RFC 850
/// and asctime forms. Conditional requests compare the parsed seconds for equality, so the parser
/// must accept exactly what nginx accepts.
/// </summary>
internal static class HttpDate
{
    /// <summary>Returned for a value nginx cannot parse (nginx's NGX_ERROR, i.e. -1).</summary>
    public const long Invalid = -1;

    private static readonly int[] s_monthDays = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

    /// <summary>IMF-fixdate, e.g. <c>Tue, 24 Nov 2026 10:00:00 GMT</c> (RFC 9110 §5.6.7).</summary>
    public static string Format(long unixSeconds) =>
        DateTimeOffset.FromUnixTimeSeconds(unixSeconds).ToString("r", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Seconds since the epoch, or <see cref="Invalid"/>.</summary>
    public static long Parse(ReadOnlySpan<char> value)
    {
        // Reads past the end yield '\0', which fails every check below, like nginx's NUL-terminated buffers.
        int end = value.Length;
        int p;
        int fmt = 0; // 0 none, 1 rfc822, 2 rfc850, 3 isoc
        int day = 32, year = 2038, month, hour, min, sec;

        for (p = 0; p < end; p++)
        {
            if (value[p] == ',')
            {
                break;
            }

            if (value[p] == ' ')
            {
                fmt = 3;
                break;
            }
        }

        for (p++; p < end; p++)
        {
            if (value[p] != ' ')
            {
                break;
            }
        }

        if (end - p < 18)
        {
            return Invalid;
        }
        static bool Digit(char c) => c is >= '0' and <= '9';

        if (fmt != 3)
        {
            if (!Digit(At(value, p)) || !Digit(At(value, p + 1)))
            {
                return Invalid;
            }

            day = (At(value, p) - '0') * 10 + (At(value, p + 1) - '0');
            p += 2;

            if (At(value, p) == ' ')
            {
                if (end - p < 18)
                {
                    return Invalid;
                }

                fmt = 1;
            }
            else if (At(value, p) == '-')
            {
                fmt = 2;
            }
            else
            {
                return Invalid;
            }

            p++;
        }

        switch (At(value, p))
        {
            case 'J':
                month = At(value, p + 1) == 'a' ? 0 : At(value, p + 2) == 'n' ? 5 : 6;
                break;
            case 'F':
                month = 1;
                break;
            case 'M':
                month = At(value, p + 2) == 'r' ? 2 : 4;
                break;
            case 'A':
                month = At(value, p + 1) == 'p' ? 3 : 7;
                break;
            case 'S':
                month = 8;
                break;
            case 'O':
                month = 9;
                break;
            case 'N':
                month = 10;
                break;
            case 'D':
                month = 11;
                break;
            default:
                return Invalid;
        }

        p += 3;

        if ((fmt == 1 && At(value, p) != ' ') || (fmt == 2 && At(value, p) != '-'))
        {
            return Invalid;
        }

        p++;

        if (fmt == 1)
        {
            if (!Digit(At(value, p)) || !Digit(At(value, p + 1)) || !Digit(At(value, p + 2)) || !Digit(At(value, p + 3)))
            {
                return Invalid;
            }

            year = (At(value, p) - '0') * 1000 + (At(value, p + 1) - '0') * 100 + (At(value, p + 2) - '0') * 10 + (At(value, p + 3) - '0');
            p += 4;
        }
        else if (fmt == 2)
        {
            if (!Digit(At(value, p)) || !Digit(At(value, p + 1)))
            {
                return Invalid;
            }

            year = (At(value, p) - '0') * 10 + (At(value, p + 1) - '0');
            year += year < 70 ? 2000 : 1900;
            p += 2;
        }

        if (fmt == 3)
        {
            if (At(value, p) == ' ')
            {
                p++;
            }

            if (!Digit(At(value, p)))
            {
                return Invalid;
            }

            day = At(value, p++) - '0';

            if (At(value, p) != ' ')
            {
                if (!Digit(At(value, p)))
                {
                    return Invalid;
                }

                day = day * 10 + (At(value, p++) - '0');
            }

            if (end - p < 14)
            {
                return Invalid;
            }
        }

        if (At(value, p++) != ' ')
        {
            return Invalid;
        }

        if (!Digit(At(value, p)) || !Digit(At(value, p + 1)))
        {
            return Invalid;
        }

        hour = (At(value, p) - '0') * 10 + (At(value, p + 1) - '0');
        p += 2;

        if (At(value, p++) != ':')
        {
            return Invalid;
        }

        if (!Digit(At(value, p)) || !Digit(At(value, p + 1)))
        {
            return Invalid;
        }

        min = (At(value, p) - '0') * 10 + (At(value, p + 1) - '0');
        p += 2;

        if (At(value, p++) != ':')
        {
            return Invalid;
        }

        if (!Digit(At(value, p)) || !Digit(At(value, p + 1)))
        {
            return Invalid;
        }

        sec = (At(value, p) - '0') * 10 + (At(value, p + 1) - '0');

        if (fmt == 3)
        {
            p += 2;

            if (At(value, p++) != ' ')
            {
                return Invalid;
            }

            if (!Digit(At(value, p)) || !Digit(At(value, p + 1)) || !Digit(At(value, p + 2)) || !Digit(At(value, p + 3)))
            {
                return Invalid;
            }

            year = (At(value, p) - '0') * 1000 + (At(value, p + 1) - '0') * 100 + (At(value, p + 2) - '0') * 10 + (At(value, p + 3) - '0');
        }

        if (hour > 23 || min > 59 || sec > 60)
        {
            return Invalid;
        }

        if (day == 29 && month == 1)
        {
            if ((year & 3) != 0 || ((year % 100 == 0) && (year % 400) != 0))
            {
                return Invalid;
            }
        }
        else if (day > s_monthDays[month])
        {
            return Invalid;
        }

        // nginx: shift the new year to March 1 and count months from 1, for Gauss' formula.
        if (--month <= 0)
        {
            month += 12;
            year -= 1;
        }

        long days = 365L * year + year / 4 - year / 100 + year / 400 + 367L * month / 12 - 30 + day - 1 - 719527 + 31 + 28;
        return days * 86400 + hour * 3600 + min * 60 + sec;
    }

    private static char At(ReadOnlySpan<char> s, int i) => (uint)i < (uint)s.Length ? s[i] : '\0';
}
