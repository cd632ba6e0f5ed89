using Microsoft.AspNetCore.Http;
using Portico.FastCgi.AspNetCore;
using Portico.FastCgi.Client;

namespace Portico.FastCgi.Tests.AspNetCore;

public sealed class CgiParamsTests
{
    [Theory]
    [InlineData("/index.php", "/index.php", "")]
    [InlineData("/a.php/x/y", "/a.php", "/x/y")]
    [InlineData("/dir/a.php/", "/dir/a.php", "/")]
    [InlineData("/a.phpx/y", "/a.phpx/y", "")]
    [InlineData("/static/file.css", "/static/file.css", "")]
    public void Path_info_is_split_after_the_script_extension(string uri, string script, string pathInfo)
    {
        Assert.Equal((script, pathInfo), CgiParams.SplitPathInfo(uri, ".php"));
    }

    [Fact]
    public void Header_names_become_http_params_and_underscore_or_proxy_headers_are_dropped()
    {
        var headers = new HeaderDictionary
        {
            ["X-Request-Id"] = "1",
            ["X_Forwarded_For"] = "spoofed",
            ["Proxy"] = "http://evil",
            ["Accept"] = new(["a", "b"]),
            ["Cookie"] = new(["x=1", "y=2"]),
        };
        var request = new FastCgiRequest();
        CgiParams.AddHeaders(request, headers);
        var names = request.Params.Select(p => p.ToString()).ToList();
        Assert.Equal(["HTTP_X_REQUEST_ID=1", "HTTP_ACCEPT=a, b", "HTTP_COOKIE=x=1; y=2"], names);
    }
}
