namespace Portico.FastCgi.Tests.Infrastructure;

/// <summary>The PHP scripts the php-fpm tests run.</summary>
internal static class PhpScripts
{
    public static void WriteTo(string documentRoot)
    {
        Write(documentRoot, "hello.php", """<?php echo "Hello, world";""");
        Write(documentRoot, "query.php", """<?php echo $_SERVER['QUERY_STRING'], '|', $_GET['a'] ?? '', '|', $_GET['b'] ?? '';""");
        Write(documentRoot, "post.php", """
            <?php
            $body = file_get_contents('php://input');
            echo $_SERVER['REQUEST_METHOD'], ' ', strlen($body), ' ', hash('sha256', $body);
            """);
        Write(documentRoot, "server.php", """
            <?php
            header('Content-Type: application/json');
            echo json_encode(['server' => $_SERVER, 'cookies' => $_COOKIE, 'get' => $_GET]);
            """);
        Write(documentRoot, "status.php", """
            <?php
            http_response_code(418);
            header('X-Custom: yes');
            setcookie('a', '1');
            setcookie('b', '2');
            echo 'teapot';
            """);
        Write(documentRoot, "redirect.php", """<?php header('Location: /elsewhere');""");
        Write(documentRoot, "notfound.php", """<?php header('Status: 404 Not Found'); echo 'gone';""");
        Write(documentRoot, "big.php", """
            <?php
            $out = '';
            for ($i = 0; $i < 200; $i++) { $out .= str_repeat(chr(65 + $i % 26), 10000) . $i . "\n"; }
            header('X-Sha256: ' . hash('sha256', $out));
            header('X-Length: ' . strlen($out));
            foreach (str_split($out, 65536) as $part) { echo $part; flush(); }
            """);
        Write(documentRoot, "stderr.php", """
            <?php
            error_log('first message to stderr');
            error_log('second message');
            echo 'done';
            """);
        Write(documentRoot, "hang.php", """
            <?php
            header('Content-Type: text/plain');
            echo 'started'; flush();
            sleep(30);
            echo 'never';
            """);
        Write(documentRoot, "slow.php", """<?php usleep(300000); echo getmypid();""");
        Write(documentRoot, "pid.php", """<?php echo getmypid();""");
    }

    private static void Write(string root, string name, string code) => File.WriteAllText(Path.Combine(root, name), code);
}
