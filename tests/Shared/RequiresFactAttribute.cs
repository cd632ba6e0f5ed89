namespace Portico.Testing;

/// <summary>
/// A fact that needs a real peer binary (nginx, php-fpm, goaccess). Elsewhere a missing
/// binary is a visible skip; with CI=true it is a failure (the CI script installs them).
/// </summary>
public sealed class RequiresFactAttribute : FactAttribute
{
    public RequiresFactAttribute(params string[] binaries)
    {
        var missing = binaries.Where(b => !File.Exists(b)).ToList();
        if (missing.Count > 0 && Environment.GetEnvironmentVariable("CI") != "true")
        {
            Skip = "not installed: " + string.Join(", ", missing);
        }
    }
}

/// <summary>The theory form of <see cref="RequiresFactAttribute"/>.</summary>
public sealed class RequiresTheoryAttribute : TheoryAttribute
{
    public RequiresTheoryAttribute(params string[] binaries)
    {
        var missing = binaries.Where(b => !File.Exists(b)).ToList();
        if (missing.Count > 0 && Environment.GetEnvironmentVariable("CI") != "true")
        {
            Skip = "not installed: " + string.Join(", ", missing);
        }
    }
}
