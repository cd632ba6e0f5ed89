using System.Buffers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Portico.Config;
using Portico.Config.Model;
using Portico.Server.Logging;
using Portico.Server.Phases;
using Portico.Server.Tests.Variables;
using Portico.Server.Variables;

namespace Portico.Server.Tests.Logging;

public sealed class LogFormatTests
{
    // The clock of the side-by-side run against nginx 1.22 (TZ=UTC).
    private static readonly VariableScope s_scope =
        VariableScope.Default.WithTimeProvider(new ManualTimeProvider(new DateTimeOffset(2026, 11, 24, 5, 52, 35, TimeSpan.Zero)));

    private static CompiledLogFormat Format(string text, LogEscape escape = LogEscape.Default)
        => CompiledLogFormat.Compile(new LogFormatConfig("t", escape, new ConfigValue(text, TestRequests.Where)), s_scope);

    private static RequestContext Hostile(string value) => TestRequests.Get("/x", h => h.Request.Headers["X-A"] = value);

    [Fact]
    public void Combined_is_byte_for_byte_nginx()
    {
        var combined = CompiledLogFormat.Combined(s_scope);
        var auth = "Basic " + Convert.ToBase64String("bob:pw"u8);
        var ctx = TestRequests.Get("/x?Q=1&q=2", h => h.Request.Headers.Authorization = auth);
        ctx.BodyBytesSent = 3;

        // Lines nginx 1.22 wrote for the same curl requests.
        Assert.Equal("127.0.0.1 - bob [24/Nov/2026:05:52:35 +0000] \"GET /x?Q=1&q=2 HTTP/1.1\" 200 3 \"-\" \"curl/7.88.1\"\n", combined.Format(ctx));

        var hostile = TestRequests.Get("/%22?a=%22\"", h =>
        {
            h.Request.Headers.UserAgent = "ua \"x\"";
            h.Request.Headers.Referer = "http://ref/";
        });
        hostile.BodyBytesSent = 3;
        Assert.Equal("127.0.0.1 - - [24/Nov/2026:05:52:35 +0000] \"GET /%22?a=%22\\x22 HTTP/1.1\" 200 3 \"http://ref/\" \"ua \\x22x\\x22\"\n", combined.Format(hostile));
    }

    [Fact]
    public void Combined_line_is_formatted_without_allocating()
    {
        var combined = CompiledLogFormat.Combined(VariableScope.Default);
        var ctx = TestRequests.Get("/x?a=1", h => h.Request.Headers.Referer = "http://ref/\"q\"");
        var buffer = new ArrayBufferWriter<byte>(4096);
        for (var i = 0; i < 10; i++)
        {
            buffer.ResetWrittenCount();
            combined.Write(ctx, buffer);
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            buffer.ResetWrittenCount();
            combined.Write(ctx, buffer);
        }

        // Only the per-second time cache may allocate (when the second changes during the loop).
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 1024);
    }

    [Fact]
    public void Combined_text_is_nginx_predefined_format()
        => Assert.Equal("$remote_addr - $remote_user [$time_local] \"$request\" $status $body_bytes_sent \"$http_referer\" \"$http_user_agent\"", CompiledLogFormat.CombinedText);

    [Fact]
    public void Default_escaping_writes_hex_for_quote_backslash_control_and_non_ascii()
    {
        // nginx 1.22 logged q\x22\x5C\x01\xC3\xA9\xFF for the bytes q " \ 0x01 C3 A9 FF.
        Assert.Equal("[q\\x22\\x5C\\x01\\xC3\\xA9\\x7F]\n", Format("[$http_x_a]").Format(Hostile("q\"\\\u0001é\u007f")));
        var buffer = new ArrayBufferWriter<byte>();
        LogEscaper.EscapeDefault([(byte)'q', 0xFF, 0x1F, 0x20, 0x7E], buffer);
        Assert.Equal("q\\xFF\\x1F ~", Encoding.ASCII.GetString(buffer.WrittenSpan));
    }

    [Fact]
    public void Not_found_is_dash_in_default_and_empty_in_json_and_none()
    {
        var ctx = TestRequests.Get("/x");
        Assert.Equal("[-] [-] [] []\n", Format("[$args] [$http_referer] [$is_args] [$http_x_a]").Format(TestRequests.Get("/x", h => h.Request.Headers["X-A"] = "")));
        Assert.Equal("{\"a\":\"\",\"r\":\"\"}\n", Format("{\"a\":\"$args\",\"r\":\"$http_referer\"}", LogEscape.Json).Format(ctx));
        Assert.Equal("[] []\n", Format("[$args] [$remote_user]", LogEscape.None).Format(ctx));
    }

    [Theory]
    [InlineData("::ffff:10.1.2.3", "10.1.2.3")]
    [InlineData("2001:db8::1", "2001:db8::1")]
    [InlineData("fe80::1%2", "fe80::1")]
    [InlineData(null, "unix:")]
    public void Addresses_print_as_nginx_in_lines(string? address, string expected)
        => Assert.Equal(expected + "\n", Format("$remote_addr").Format(TestRequests.Get("/", h => h.Connection.RemoteIpAddress = address is null ? null : System.Net.IPAddress.Parse(address))));

    [Fact]
    public void None_writes_values_raw()
        => Assert.Equal("[a=%22\"] [q\"\\\u0001]\n", Format("[$args] [$http_x_a]", LogEscape.None).Format(TestRequests.Get("/x?a=%22\"", h => h.Request.Headers["X-A"] = "q\"\\\u0001")));

    [Theory]
    [InlineData("plain")]
    [InlineData("q\"uote\\back")]
    [InlineData("\n\r\t\b\f\u0001\u001f\u007f")]
    [InlineData("é ü 😀 中文")]
    [InlineData("\"},\"injected\":\"1")]
    public void Json_escaping_round_trips_through_a_json_parser(string value)
    {
        var line = Format("{\"h\":\"$http_x_a\",\"s\":$status}", LogEscape.Json).Format(Hostile(value));
        Assert.EndsWith("\n", line, StringComparison.Ordinal);
        using var doc = JsonDocument.Parse(line);
        Assert.Equal(value, doc.RootElement.GetProperty("h").GetString());
        Assert.Equal(200, doc.RootElement.GetProperty("s").GetInt32());
        Assert.Equal(2, doc.RootElement.EnumerateObject().Count());
    }

    [Fact]
    public void Json_escaping_uses_nginx_short_forms()
        => Assert.Equal("{\"h\":\"\\\"\\\\\\n\\r\\t\\b\\f\\u0001\\u001F\u007f\"}\n",
            Format("{\"h\":\"$http_x_a\"}", LogEscape.Json).Format(Hostile("\"\\\n\r\t\b\f\u0001\u001f\u007f")));

    [Fact]
    public void Json_lone_surrogate_becomes_replacement_character()
    {
        var line = Format("{\"h\":\"$http_x_a\"}", LogEscape.Json).Format(Hostile("a\ud800b"));
        Assert.Equal("a\ufffdb", JsonDocument.Parse(line).RootElement.GetProperty("h").GetString());
    }

    [Fact]
    public void Json_invalid_utf8_bytes_become_u00XX_and_stay_valid_json()
    {
        var buffer = new ArrayBufferWriter<byte>();
        buffer.Write("{\"v\":\""u8);
        byte[] hostile = [(byte)'a', 0xFF, 0xC3, (byte)'(', 0xE2, 0x82, 0xC3, 0xA9, 0xED, 0xA0, 0x80, 0xF0, 0x9F, 0x98, 0x80, 0x80];
        LogEscaper.EscapeJson(hostile, buffer);
        buffer.Write("\"}"u8);

        // Strict UTF-8 decoding and JSON parsing both accept the line, as an analyser would need.
        _ = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(buffer.WrittenSpan);
        using var doc = JsonDocument.Parse(buffer.WrittenMemory);
        Assert.Equal("a\u00ff\u00c3(\u00e2\u0082é\u00ed\u00a0\u0080😀\u0080", doc.RootElement.GetProperty("v").GetString());
    }

    [Fact]
    public void Very_long_values_are_written_whole()
    {
        var value = string.Concat(Enumerable.Repeat("x\"\u0001é", 300_000));
        var json = Format("{\"h\":\"$http_x_a\"}", LogEscape.Json).Format(Hostile(value));
        Assert.Equal(value, JsonDocument.Parse(json).RootElement.GetProperty("h").GetString());
        var plain = Format("$http_x_a").Format(Hostile(value));
        Assert.Equal((300_000 * (1 + 4 + 4 + 8)) + 1, Encoding.UTF8.GetByteCount(plain));
    }

    [Theory]
    [InlineData("$1", "unknown \"1\" variable in /etc/portico/test.conf:7")]
    [InlineData("$nope", "unknown \"nope\" variable in /etc/portico/test.conf:7")]
    [InlineData("a$", "invalid parameter \"a$\" in /etc/portico/test.conf:7")]
    [InlineData("$ x", "invalid parameter \"$ x\" in /etc/portico/test.conf:7")]
    [InlineData("${host", "the closing bracket in \"host\" variable is missing in /etc/portico/test.conf:7")]
    public void Bad_formats_are_rejected_with_nginx_text(string text, string message)
        => Assert.Equal(message, Assert.Throws<ConfigException>(() => Format(text)).Message);

    [Fact]
    public void Upstream_variables_compile_and_print_dash_until_a_handler_sets_them()
    {
        var format = Format("$upstream_addr $upstream_response_time $upstream_http_x_y");
        var ctx = TestRequests.Get();
        Assert.Equal("- - -\n", format.Format(ctx));
        ctx.UserVariables = new Dictionary<string, string> { ["upstream_addr"] = "127.0.0.1:9000", ["upstream_response_time"] = "0.010", ["upstream_http_x_y"] = "z" };
        Assert.Equal("127.0.0.1:9000 0.010 z\n", format.Format(ctx));
    }

    [Fact]
    public void A_set_variable_that_no_set_gave_a_value_is_empty_and_a_handler_variable_is_not_found()
    {
        // nginx side by side, by hand: '[$only_elsewhere] [$upstream_addr]' logs "[] [-]" for a request that ran no
        // set of it and reached no upstream (ngx_http_rewrite_var gives the empty value, with a warning).
        var scope = s_scope.WithUserVariables(["only_elsewhere"]);
        var format = CompiledLogFormat.Compile(new LogFormatConfig("t", LogEscape.Default, new ConfigValue("[$only_elsewhere] [$upstream_addr]", TestRequests.Where)), scope);
        Assert.Equal("[] [-]\n", format.Format(TestRequests.Get()));

        var set = TestRequests.Get();
        set.UserVariables = new Dictionary<string, string>(StringComparer.Ordinal) { ["only_elsewhere"] = "x" };
        Assert.Equal("[x] [-]\n", format.Format(set));
    }
}
