namespace Portico.FastCgi.Tests.Infrastructure;

/// <summary>
/// A fact that needs a real php-fpm binary. Off CI a missing binary skips the test visibly; with CI=true
/// the test runs and fails, so a broken CI image cannot pass silently. (xunit 2.9 has no dynamic skip.)
/// </summary>
public sealed class PhpFpmFactAttribute : FactAttribute
{
    public PhpFpmFactAttribute()
    {
        if (PhpFpmProcess.FindBinary() is null && !string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
        {
            Skip = "php-fpm not found (looked at $PORTICO_PHP_FPM, /usr/sbin/php-fpm8.2, /usr/sbin/php-fpm*); install php8.2-fpm to run this test.";
        }

        Timeout = 60_000;
    }
}

/// <summary>The theory counterpart of <see cref="PhpFpmFactAttribute"/>.</summary>
public sealed class PhpFpmTheoryAttribute : TheoryAttribute
{
    public PhpFpmTheoryAttribute()
    {
        Skip = new PhpFpmFactAttribute().Skip;
        Timeout = 60_000;
    }
}
