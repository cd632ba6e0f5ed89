namespace Portico.Testing;

/// <summary>
/// The rule for tests that need a real peer binary (nginx, php-fpm, goaccess): where one is missing
/// the test is a visible skip, except with CI=true, where it runs and fails (the CI script installs them).
/// </summary>
public static class Requires
{
    public static bool OnCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>The skip reason for a test when <paramref name="missing"/> are not installed; null when it runs.</summary>
    public static string? SkipReason(IReadOnlyCollection<string> missing) =>
        missing.Count > 0 && !OnCi ? "not installed: " + string.Join(", ", missing) : null;

    /// <summary>The skip reason for a test that needs the <paramref name="binaries"/> (paths); null when it runs.</summary>
    public static string? SkipReasonForFiles(IEnumerable<string> binaries) =>
        SkipReason(binaries.Where(b => !File.Exists(b)).ToList());
}

/// <summary>A fact that needs real peer binaries (paths), skipped or failed as <see cref="Requires"/> says.</summary>
public sealed class RequiresFactAttribute : FactAttribute
{
    public RequiresFactAttribute(params string[] binaries) => Skip = Requires.SkipReasonForFiles(binaries);
}

/// <summary>The theory form of <see cref="RequiresFactAttribute"/>.</summary>
public sealed class RequiresTheoryAttribute : TheoryAttribute
{
    public RequiresTheoryAttribute(params string[] binaries) => Skip = Requires.SkipReasonForFiles(binaries);
}
