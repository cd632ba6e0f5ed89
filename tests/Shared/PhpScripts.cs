namespace Portico.Testing;

/// <summary>
/// The PHP pages the php-fpm tests run (and a few static files beside them), written to
/// <see cref="PhpFpmProcess.DocumentRoot"/>. Where the FastCGI client tests and the end-to-end tests
/// need different output, the scripts have different names.
/// </summary>
public static class PhpScripts
{
    public static void WriteTo(string root)
    {
        Directory.CreateDirectory(root);
        Write(root, "hello.php", """<?php header('X-Powered: php'); echo "Hello from PHP\n";""");
        Write(root, "hello-world.php", """<?php echo "Hello, world";""");
        Write(root, "query.php", """<?php echo $_SERVER['QUERY_STRING'], '|', $_GET['a'] ?? '', '|', $_GET['b'] ?? '';""");
        Write(root, "post.php", """
            <?php
            $body = file_get_contents('php://input');
            echo $_SERVER['REQUEST_METHOD'], ' ', strlen($body), ' ', hash('sha256', $body);
            """);
        Write(root, "post-length.php", """
            <?php
            $body = file_get_contents('php://input');
            echo $_SERVER['REQUEST_METHOD'], ' ', $_SERVER['CONTENT_LENGTH'] ?? '-', ' ', strlen($body), ' ', hash('sha256', $body);
            """);
        Write(root, "form.php", """<?php echo $_SERVER['REQUEST_METHOD'], ' name=', $_POST['name'] ?? '', ' n=', $_POST['n'] ?? '';""");
        Write(root, "upload.php", """
            <?php
            $f = $_FILES['file'] ?? null;
            echo $f ? ($f['error'] . ' ' . $f['size'] . ' ' . hash_file('sha256', $f['tmp_name'])) : 'no file';
            """);
        Write(root, "server.php", """
            <?php
            header('Content-Type: application/json');
            echo json_encode(['server' => $_SERVER, 'cookies' => $_COOKIE, 'get' => $_GET]);
            """);
        Write(root, "status.php", """
            <?php
            http_response_code(418);
            header('X-Custom: yes');
            setcookie('a', '1');
            setcookie('b', '2');
            echo 'teapot';
            """);
        Write(root, "redirect.php", """<?php header('Location: /elsewhere');""");
        Write(root, "notfound.php", """<?php header('Status: 404 Not Found'); echo 'php 404 body';""");
        Write(root, "big.php", """
            <?php
            $out = '';
            for ($i = 0; $i < 300; $i++) { $out .= str_repeat(chr(65 + $i % 26), 10000) . $i . "\n"; }
            header('X-Sha256: ' . hash('sha256', $out));
            header('X-Length: ' . strlen($out));
            foreach (str_split($out, 65536) as $part) { echo $part; flush(); }
            """);
        // 64 KiB that php-fpm writes to its socket in several writes of about 8 KiB (its FastCGI output buffer), as it
        // does for any page under Debian's php.ini (output_buffering = 4096).
        // ?mb=N mebibytes of "0123456789abcdef" repeated, in 64 KiB writes: more than any socket buffer holds.
        Write(root, "huge.php", """<?php $line = str_repeat('0123456789abcdef', 4096); $n = 16 * (int)($_GET['mb'] ?? 1); for ($i = 0; $i < $n; $i++) { echo $line; }""");
        Write(root, "multiwrite.php", """<?php for ($i = 0; $i < 16; $i++) { echo str_repeat('y', 4096); }""");
        // fastcgi_catch_stderr "boom": the first writes to stderr before any output (the header is not complete yet),
        // the second after its header and some of its body went out.
        Write(root, "catch-early.php", """<?php error_log('boom before the header'); echo 'after the boom';""");
        Write(root, "catch-late.php", """
            <?php
            while (ob_get_level()) { ob_end_flush(); }
            echo 'head of the body'; flush();
            usleep(200000);
            error_log('boom after the header');
            echo ' and its tail';
            """);
        // A body of known length with validators, for fastcgi_force_ranges; its own Accept-Ranges says "none".
        Write(root, "ranges.php", """
            <?php
            $body = 'abcdefghijklmnopqrstuvwxyz';
            header('Content-Length: ' . strlen($body));
            header('ETag: "v1"');
            header('Last-Modified: Tue, 24 Nov 2026 10:00:00 GMT');
            header('Accept-Ranges: none');
            echo $body;
            """);
        Write(root, "stream.php", """
            <?php
            header('X-Accel-Buffering: no');
            echo "first\n"; flush();
            usleep(1500000);
            echo "second\n";
            """);
        Write(root, "stderr.php", """<?php error_log('message to stderr'); echo 'done';""");
        Write(root, "stderr-twice.php", """
            <?php
            error_log('first message to stderr');
            error_log('second message');
            echo 'done';
            """);

        // "started", then 100 KB, flushed; then the script sleeps in mid-body (until php-fpm is killed).
        Write(root, "hang.php", """
            <?php
            header('Content-Type: text/plain');
            echo 'started', str_repeat('x', 100000); flush();
            sleep(30);
            echo 'never';
            """);
        Write(root, "hanghead.php", """<?php sleep(30); echo 'never';""");
        Write(root, "slow.php", """<?php usleep(300000); echo 'slow ', getmypid();""");
        Write(root, "pid.php", """<?php echo getmypid();""");
        Write(root, "accel.php", """<?php header('X-Accel-Redirect: /protected/secret.txt'); header('Set-Cookie: seen=1'); echo 'php body';""");
        Write(root, "accelbody.php", """<?php header('X-Accel-Redirect: /echobody.php'); echo 'php body';""");
        Write(root, "echobody.php", """<?php echo $_SERVER['REQUEST_METHOD'], ' ', $_SERVER['CONTENT_LENGTH'] ?? '-', ' ', file_get_contents('php://input');""");
        Write(root, "accelnamed.php", """<?php header('X-Accel-Redirect: @fallback'); echo 'php body';""");
        Write(root, "pathinfo.php", """<?php echo 'script=', $_SERVER['SCRIPT_NAME'], ' info=', $_SERVER['PATH_INFO'] ?? '', ' file=', basename($_SERVER['SCRIPT_FILENAME']);""");
        Write(root, "utf8header.php", """<?php header("X-Name: caf\u{e9}"); header('X-Plain: ok'); echo 'body ok';""");
        Write(root, "error500.php", """<?php http_response_code(500); echo 'php 500';""");
        Write(root, "index.php", """<?php echo 'front controller uri=', $_SERVER['REQUEST_URI'], ' p=', $_GET['p'] ?? '', ' script=', $_SERVER['SCRIPT_NAME'];""");
        Write(root, "wp/index.php", """<?php echo 'wp uri=', $_SERVER['REQUEST_URI'], ' p=', $_GET['p'] ?? '', ' q=', $_SERVER['QUERY_STRING'];""");
        Write(root, "wp/style.css", "body { color: blue }\n");
        Write(root, "protected/secret.txt", "secret file\n");
        Write(root, "errors/404.html", "custom not found page\n");
        Write(root, "errors/500.html", "custom error page\n");
    }

    private static void Write(string root, string name, string code)
    {
        var path = Path.Combine(root, name);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, code);
    }
}
