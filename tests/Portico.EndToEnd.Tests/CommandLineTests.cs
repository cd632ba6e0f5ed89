using System.Diagnostics;

namespace Portico.EndToEnd.Tests;

public sealed class CommandLineTests
{
    [Fact]
    public async Task Version_flags_print_nginx_format_to_stderr()
    {
        using var dir = new TempDir();
        var (code, _, stderr) = await PorticoProcess.RunAsync(dir.Path, "-v");
        Assert.Equal(0, code);
        Assert.Equal("portico version: portico/0.1.0\n", stderr);

        var (codeV, _, stderrV) = await PorticoProcess.RunAsync(dir.Path, "-V");
        Assert.Equal(0, codeV);
        Assert.StartsWith("portico version: portico/0.1.0\n", stderrV, StringComparison.Ordinal);
        Assert.Contains("\nconfigure arguments: ", stderrV, StringComparison.Ordinal);
        Assert.Contains("--with-http_autoindex_module", stderrV, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Test_flag_accepts_good_config()
    {
        using var dir = new TempDir();
        var conf = dir.Write("site.conf", "worker_processes auto;\nevents { worker_connections 1024; }\nhttp { server { listen 127.0.0.1:8080; root " + dir.Path + "; } }\n");
        var (code, _, stderr) = await PorticoProcess.RunAsync(dir.Path, "-p", dir.Path, "-t", "-c", conf);
        Assert.Equal(0, code);
        Assert.Equal(
            $"portico: the configuration file {conf} syntax is ok\nportico: configuration file {conf} test is successful\n",
            stderr);
    }

    /// <summary>
    /// The distribution's own nginx.conf, as installed: its load_module lines (modules-enabled), ssl_protocols and
    /// ssl_prefer_server_ciphers at the http level, gzip and the default site. nginx -t agrees.
    /// </summary>
    [RequiresFact(NginxProcess.Binary, "/etc/nginx/nginx.conf")]
    public async Task Test_flag_accepts_the_stock_debian_nginx_conf()
    {
        using var dir = new TempDir();
        var (code, _, stderr) = await PorticoProcess.RunAsync(dir.Path, "-t", "-c", "/etc/nginx/nginx.conf");
        Assert.True(code == 0, stderr);
        Assert.EndsWith("portico: configuration file /etc/nginx/nginx.conf test is successful\n", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Test_flag_rejects_unknown_directive_with_file_and_line()
    {
        using var dir = new TempDir();
        var conf = dir.Write("site.conf", "http {\n    server {\n        foo bar;\n    }\n}\n");
        var (code, _, stderr) = await PorticoProcess.RunAsync(dir.Path, "-p", dir.Path, "-t", "-c", conf);
        Assert.Equal(1, code);
        Assert.Equal(
            $"portico: [emerg] unknown directive \"foo\" in {conf}:3\nportico: configuration file {conf} test failed\n",
            stderr);
    }

    [Fact]
    public async Task Config_path_is_relative_to_prefix()
    {
        using var dir = new TempDir();
        var conf = dir.Write("conf/site.conf", "http { server { listen 127.0.0.1:8080; } }\n");
        var (code, _, stderr) = await PorticoProcess.RunAsync("/", "-p", dir.Path + "/", "-c", "conf/site.conf", "-t");
        Assert.Equal(0, code);
        Assert.Contains(conf, stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Dump_flag_prints_every_file()
    {
        using var dir = new TempDir();
        dir.Write("extra.conf", "default_type text/plain;\n");
        var conf = dir.Write("site.conf", "http {\n    include extra.conf;\n    server { listen 127.0.0.1:8080; }\n}\n");
        var (code, stdout, _) = await PorticoProcess.RunAsync(dir.Path, "-p", dir.Path, "-T", "-q", "-c", conf);
        Assert.Equal(0, code);
        Assert.Contains($"# configuration file {conf}:\nhttp {{", stdout, StringComparison.Ordinal);
        Assert.Contains($"# configuration file {Path.Combine(dir.Path, "extra.conf")}:\ndefault_type text/plain;", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Zero_config_serves_current_directory_but_no_dot_files()
    {
        using var dir = new TempDir();
        dir.Write("hello.txt", "hi there");
        dir.Write(".env", "SECRET=1");
        var port = FreePort.Next();
        var stopwatch = Stopwatch.StartNew();
        await using var portico = PorticoProcess.Start(dir.Path, "-p", dir.Path, "--listen", "127.0.0.1:" + port);
        await portico.WaitForPortAsync(port);
        stopwatch.Stop();
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(5), "startup took " + stopwatch.Elapsed);

        var file = await RawHttp.GetAsync(port, "/hello.txt");
        Assert.Equal(200, file.Status);
        Assert.Equal("hi there", file.BodyText);
        Assert.Equal("text/plain", file.Header("Content-Type"));

        var listing = await RawHttp.GetAsync(port, "/");
        Assert.Contains("hello.txt", listing.BodyText, StringComparison.Ordinal);
        Assert.DoesNotContain(".env", listing.BodyText, StringComparison.Ordinal);
        Assert.Equal(404, (await RawHttp.GetAsync(port, "/.env")).Status);
        Assert.Contains($"http://127.0.0.1:{port}/", portico.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Pid_file_appears_after_bind_and_sigquit_stops_gracefully()
    {
        using var dir = new TempDir();
        var port = FreePort.Next();
        var pid = Path.Combine(dir.Path, "run", "portico.pid");
        var conf = dir.Write("site.conf", $"pid {pid};\nhttp {{ access_log off; server {{ listen 127.0.0.1:{port}; return 200 \"up\"; }} }}\n");
        await using var portico = PorticoProcess.Start(dir.Path, "-p", dir.Path, "-c", conf);
        await portico.WaitForPortAsync(port);
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (!File.Exists(pid) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        Assert.Equal($"{portico.Pid}\n", File.ReadAllText(pid));
        Assert.Equal("up", (await RawHttp.GetAsync(port, "/")).BodyText);

        var (code, _, stderr) = await PorticoProcess.RunAsync(dir.Path, "-p", dir.Path, "-c", conf, "-s", "quit");
        Assert.True(code == 0, stderr);
        Assert.Equal(0, await portico.WaitForExitAsync(TimeSpan.FromSeconds(15)));
        Assert.False(File.Exists(pid));
    }

    [Fact]
    public async Task Sigterm_stops_fast_with_exit_code_zero()
    {
        using var dir = new TempDir();
        var port = FreePort.Next();
        var conf = dir.Write("site.conf", $"http {{ access_log off; server {{ listen 127.0.0.1:{port}; return 200; }} }}\n");
        await using var portico = PorticoProcess.Start(dir.Path, "-p", dir.Path, "-c", conf);
        await portico.WaitForPortAsync(port);
        portico.Signal("TERM");
        Assert.Equal(0, await portico.WaitForExitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task Signal_without_running_instance_reports_pid_file_error()
    {
        using var dir = new TempDir();
        var pid = Path.Combine(dir.Path, "none.pid");
        var conf = dir.Write("site.conf", $"pid {pid};\nhttp {{ server {{ listen 127.0.0.1:8080; }} }}\n");
        var (code, _, stderr) = await PorticoProcess.RunAsync(dir.Path, "-p", dir.Path, "-c", conf, "-s", "reopen");
        Assert.Equal(1, code);
        Assert.Equal($"portico: [error] open() \"{pid}\" failed (2: No such file or directory)\n", stderr);
    }

    [Fact]
    public async Task Port_in_use_is_reported_like_nginx()
    {
        using var dir = new TempDir();
        using var blocker = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        blocker.Start();
        var port = ((System.Net.IPEndPoint)blocker.LocalEndpoint).Port;
        var conf = dir.Write("site.conf", $"http {{ server {{ listen 127.0.0.1:{port}; }} }}\n");
        var (code, _, stderr) = await PorticoProcess.RunAsync(dir.Path, "-p", dir.Path, "-c", conf);
        Assert.Equal(1, code);
        Assert.Equal($"portico: [emerg] bind() to 127.0.0.1:{port} failed (98: Address already in use)\n", stderr);
    }

    [Fact]
    public async Task Keeps_serving_when_stderr_is_closed()
    {
        using var dir = new TempDir();
        dir.Write("f.txt", "still here");
        var port = FreePort.Next();
        var info = new ProcessStartInfo("/bin/sh")
        {
            ArgumentList = { "-c", $"exec '{PorticoProcess.BinaryPath}' -p '{dir.Path}' --root '{dir.Path}' --listen 127.0.0.1:{port} 2>&- >/dev/null" },
            UseShellExecute = false,
        };
        using var process = Process.Start(info)!;
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(15);
            RawResponse? response = null;
            while (DateTime.UtcNow < deadline && response is null)
            {
                try
                {
                    response = await RawHttp.GetAsync(port, "/missing");
                }
                catch (System.Net.Sockets.SocketException)
                {
                    Assert.False(process.HasExited, "portico died with stderr closed");
                    await Task.Delay(20);
                }
            }

            // A 404 writes an error-log line to the closed stderr; the server must shrug it off.
            Assert.Equal(404, response!.Status);
            Assert.Equal("still here", (await RawHttp.GetAsync(port, "/f.txt")).BodyText);
            Assert.False(process.HasExited);
        }
        finally
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }

    [Fact]
    public async Task Sigquit_lets_a_response_in_flight_finish()
    {
        using var dir = new TempDir();
        var big = Enumerable.Range(0, 8 << 20).Select(i => (byte)(i * 7)).ToArray();
        dir.Write("big.bin", big);
        var port = FreePort.Next();
        var conf = dir.Write("site.conf", $"http {{ access_log off; server {{ listen 127.0.0.1:{port}; root {dir.Path}; }} }}\n");
        await using var portico = PorticoProcess.Start(dir.Path, "-p", dir.Path, "-c", conf);
        await portico.WaitForPortAsync(port);

        using var client = new System.Net.Sockets.TcpClient();
        client.ReceiveBufferSize = 4096;
        await client.ConnectAsync("127.0.0.1", port);
        var stream = client.GetStream();
        await stream.WriteAsync("GET /big.bin HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"u8.ToArray());
        var first = new byte[1024];
        var read = await stream.ReadAsync(first);
        Assert.True(read > 0);

        // The download is in flight (the client has read one KB of 8 MB): a graceful stop waits for it.
        portico.Signal("QUIT");
        await Task.Delay(200);
        Assert.False(portico.HasExited, "graceful stop did not wait for the response in flight");
        var rest = new MemoryStream();
        rest.Write(first, 0, read);
        await stream.CopyToAsync(rest);
        var all = rest.ToArray();
        var headerEnd = all.AsSpan().IndexOf("\r\n\r\n"u8) + 4;
        Assert.Equal(big.Length, all.Length - headerEnd);
        Assert.True(big.AsSpan().SequenceEqual(all.AsSpan(headerEnd)));
        Assert.Equal(0, await portico.WaitForExitAsync(TimeSpan.FromSeconds(15)));
    }

    [Fact]
    public async Task Global_directives_from_command_line_are_applied_and_checked()
    {
        using var dir = new TempDir();
        var conf = dir.Write("site.conf", "http { server { listen 127.0.0.1:8080; } }\n");
        var ok = await PorticoProcess.RunAsync(dir.Path, "-p", dir.Path, "-t", "-q", "-c", conf, "-g", "worker_processes 2; pid /tmp/x.pid;");
        Assert.Equal(0, ok.Code);
        Assert.Equal("", ok.Stderr);

        var bad = await PorticoProcess.RunAsync(dir.Path, "-p", dir.Path, "-t", "-c", conf, "-g", "bogus on;");
        Assert.Equal(1, bad.Code);
        Assert.StartsWith("portico: [emerg] unknown directive \"bogus\" in command line\n", bad.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bad_option_is_reported_like_nginx()
    {
        using var dir = new TempDir();
        var (code, _, stderr) = await PorticoProcess.RunAsync(dir.Path, "-x");
        Assert.Equal(1, code);
        Assert.Equal("portico: invalid option: \"x\"\n", stderr);
    }

    [Fact]
    public async Task Error_log_flag_chooses_the_default_error_log()
    {
        using var dir = new TempDir();
        var port = FreePort.Next();
        var conf = dir.Write("site.conf", $"http {{ access_log off; server {{ listen 127.0.0.1:{port}; root {dir.Path}; }} }}\n");
        await using var portico = PorticoProcess.Start(dir.Path, "-p", dir.Path, "-c", conf, "-e", "custom-error.log");
        await portico.WaitForPortAsync(port);
        Assert.Equal(404, (await RawHttp.GetAsync(port, "/absent")).Status);
        portico.Signal("QUIT");
        Assert.Equal(0, await portico.WaitForExitAsync(TimeSpan.FromSeconds(15)));
        var log = File.ReadAllText(Path.Combine(dir.Path, "custom-error.log"));
        Assert.Matches(@"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d \[error\] \d+#\d+: \*\d+ open\(\) "".*/absent"" failed \(2: No such file or directory\), client: 127\.0\.0\.1, server: , request: ""GET /absent HTTP/1\.1"", host: ""localhost""\n", log);
    }

    [Fact]
    public async Task Reload_applies_a_good_config_and_keeps_the_old_one_on_error()
    {
        using var dir = new TempDir();
        var port = FreePort.Next();
        var pid = Path.Combine(dir.Path, "portico.pid");
        string Config(string text) => $"pid {pid};\nhttp {{ access_log off; server {{ listen 127.0.0.1:{port}; return 200 \"{text}\"; }} }}\n";
        var conf = dir.Write("site.conf", Config("one"));
        await using var portico = PorticoProcess.Start(dir.Path, "-p", dir.Path, "-c", conf);
        await portico.WaitForPortAsync(port);
        Assert.Equal("one", (await RawHttp.GetAsync(port, "/")).BodyText);

        dir.Write("site.conf", Config("two"));
        var reload = await PorticoProcess.RunAsync(dir.Path, "-p", dir.Path, "-c", conf, "-s", "reload");
        Assert.Equal(0, reload.Code);
        Assert.Equal("two", await EventuallyAsync(port, "two"));

        dir.Write("site.conf", Config("three") + "bogus;\n");
        portico.Signal("HUP");
        await Task.Delay(500);
        Assert.Equal("two", (await RawHttp.GetAsync(port, "/")).BodyText);
        Assert.False(portico.HasExited);
    }

    private static async Task<string> EventuallyAsync(int port, string expected)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        string body;
        do
        {
            body = (await RawHttp.GetAsync(port, "/")).BodyText;
            if (body == expected)
            {
                break;
            }

            await Task.Delay(50);
        }
        while (DateTime.UtcNow < deadline);
        return body;
    }
}
