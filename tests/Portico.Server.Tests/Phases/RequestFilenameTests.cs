using Portico.Server.Tests.Variables;

namespace Portico.Server.Tests.Phases;

/// <summary>
/// A FastCGI location maps the URI under its root only when <c>$request_filename</c> is read. The deferred mapping
/// must give what the eager one gave: the root and URI of the moment it was made, the same containment check, and
/// no trace of it once the content phase sets a path of its own.
/// </summary>
public sealed class RequestFilenameTests
{
    [Fact]
    public void A_deferred_mapping_is_root_plus_uri()
    {
        var ctx = TestRequests.Get("/index.php");
        ctx.MapRequestFilenameLater("/srv/www", "/index.php");
        Assert.Equal("/srv/www/index.php", ctx.RequestFilename);
    }

    [Fact]
    public void A_deferred_mapping_keeps_the_uri_it_was_made_with()
    {
        var ctx = TestRequests.Get("/index.php");
        ctx.MapRequestFilenameLater("/srv/www", "/index.php");
        ctx.Uri = "/other.php"; // an internal redirect after the mapping
        Assert.Equal("/srv/www/index.php", ctx.RequestFilename);
    }

    [Theory]
    [InlineData("/srv/www", "/../etc/passwd")]
    [InlineData("/srv/www", "/./../../etc/passwd")]
    [InlineData("/srv/www", "../www2/x.php")]
    public void A_deferred_mapping_outside_the_root_is_no_path(string root, string uri)
    {
        var ctx = TestRequests.Get("/x");
        ctx.MapRequestFilenameLater(root, uri);
        Assert.Null(ctx.RequestFilename);
    }

    [Fact]
    public void A_path_set_later_replaces_the_deferred_mapping()
    {
        var ctx = TestRequests.Get("/index.php");
        ctx.MapRequestFilenameLater("/srv/www", "/index.php");
        ctx.RequestFilename = "/srv/static/page.html";
        Assert.Equal("/srv/static/page.html", ctx.RequestFilename);
    }

    [Fact]
    public void A_new_deferred_mapping_replaces_a_path_set_before()
    {
        var ctx = TestRequests.Get("/index.php");
        ctx.RequestFilename = "/srv/static/page.html";
        ctx.MapRequestFilenameLater("/srv/php", "/index.php");
        Assert.Equal("/srv/php/index.php", ctx.RequestFilename);
    }
}
