namespace Portico.FastCgi.Tests.Infrastructure;

/// <summary>One php-fpm (2 workers per pool) shared by a test class. Starting is lazy so that a machine
/// without php-fpm skips the tests instead of failing the fixture.</summary>
public sealed class PhpFpmFixture : IAsyncLifetime
{
    public const int Workers = 2;

    private PhpFpmProcess? _fpm;

    internal PhpFpmProcess Fpm => _fpm ?? throw new InvalidOperationException("php-fpm is not available on this machine.");

    public async Task InitializeAsync()
    {
        if (PhpFpmProcess.Binary is not null)
        {
            _fpm = await PhpFpmProcess.StartAsync(Workers, Serve.TestTimeout());
        }
    }

    public async Task DisposeAsync()
    {
        if (_fpm is not null)
        {
            await _fpm.DisposeAsync();
        }
    }
}
