namespace Portico.Testing;

/// <summary>
/// A fact that needs a real php-fpm (see <see cref="PhpFpmProcess.Binary"/>) and any <paramref name="alsoNeeded"/>
/// binaries. Off CI a missing binary skips the test visibly; with CI=true the test runs and fails, so a broken
/// CI image cannot pass silently (the rule of <see cref="RequiresFactAttribute"/>). (xunit 2.9 has no dynamic skip.)
/// </summary>
public sealed class PhpFpmFactAttribute : FactAttribute
{
    public PhpFpmFactAttribute(params string[] alsoNeeded)
    {
        Skip = SkipReason(alsoNeeded);
        Timeout = 60_000;
    }

    /// <summary>Why a test that needs php-fpm and <paramref name="alsoNeeded"/> is skipped here; null when it runs.</summary>
    public static string? SkipReason(params string[] alsoNeeded)
    {
        var missing = alsoNeeded.Where(b => !File.Exists(b)).ToList();
        if (PhpFpmProcess.Binary is null)
        {
            missing.Insert(0, "php-fpm (looked at $PORTICO_PHP_FPM, /usr/sbin/php-fpm8.2, /usr/sbin/php-fpm*; install php8.2-fpm)");
        }

        return Requires.SkipReason(missing);
    }
}

/// <summary>The theory counterpart of <see cref="PhpFpmFactAttribute"/>.</summary>
public sealed class PhpFpmTheoryAttribute : TheoryAttribute
{
    public PhpFpmTheoryAttribute(params string[] alsoNeeded)
    {
        Skip = PhpFpmFactAttribute.SkipReason(alsoNeeded);
        Timeout = 60_000;
    }
}
