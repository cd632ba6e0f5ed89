using Portico.Config.Model;
using Portico.Server.FastCgi;
using Portico.Server.Tests.Variables;

namespace Portico.Server.Tests.FastCgi;

public sealed class FastCgiVariablesTests
{
    private static Portico.Server.Phases.RequestContext Request(string uri, string? split, string? index = null)
    {
        var ctx = TestRequests.Get(uri);
        ctx.Settings = TestRequests.Settings() with
        {
            FastCgi = new FastCgiSettings
            {
                SplitPathInfo = split is null ? null : new ConfigValue(split, TestRequests.Where),
                Index = index is null ? null : new ConfigValue(index, TestRequests.Where),
            },
        };
        return ctx;
    }

    [Fact]
    public void Split_path_info_gives_script_and_path_info()
    {
        var ctx = Request("/app/index.php/blog/post", @"^(.+?\.php)(/.*)$");

        Assert.Equal(("/app/index.php", "/blog/post"), FastCgiVariables.Compute(ctx));
    }

    [Fact]
    public void Without_split_the_script_is_the_uri()
    {
        Assert.Equal(("/index.php", ""), FastCgiVariables.Compute(Request("/index.php", null)));
    }

    [Fact]
    public void Newline_in_path_info_does_not_match_like_pcre()
    {
        // CVE-2019-11043: "." does not cross "\n", so the regex fails and PATH_INFO is empty (nginx does the same).
        var ctx = Request("/index.php/a\nb", @"^(.+?\.php)(/.*)$");

        Assert.Equal(("/index.php/a\nb", ""), FastCgiVariables.Compute(ctx));
    }

    [Fact]
    public void Index_is_appended_to_a_directory_script_name()
    {
        Assert.Equal(("/blog/index.php", ""), FastCgiVariables.Compute(Request("/blog/", null, "index.php")));
    }

    [Fact]
    public void A_changed_uri_is_split_again()
    {
        var ctx = Request("/a.php/x", @"^(.+?\.php)(/.*)$");
        Assert.Equal("/x", FastCgiVariables.Get(ctx, FastCgiVariables.PathInfo));

        ctx.Uri = "/b.php/y";
        Assert.Equal("/b.php", FastCgiVariables.Get(ctx, FastCgiVariables.ScriptName));
        Assert.Equal("/y", FastCgiVariables.Get(ctx, FastCgiVariables.PathInfo));
    }
}
