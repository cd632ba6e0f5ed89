# Shared by the PHP benchmarks, so that they measure the very same setup. Source it; it defines:
#   php_site DIR            hello.php, hello.txt and fastcgi_params in DIR/www and DIR
#   php_fpm_conf DIR PORT CHILDREN     a static php-fpm pool on 127.0.0.1:PORT
#   php_server_conf DIR NAME PORT FPM_PORT KEEPALIVE   an nginx-syntax config both servers run
#                           (WORKERS=N|auto sets worker_processes, default 1; above 1 nginx needs its master process)
#   php_one_server BASE     the site, server.conf on $port and a running php-fpm pool on $fport
#   php_bench_start PREFIX TOOL...  checks wrk, php-fpm and TOOLs, makes the scratch dir $work (removed at exit,
#                           with every process whose pid file is in it), sets $fpm and $bin (PORTICO_BIN or
#                           a fresh NativeAOT publish)
php_bench_start() {
  local prefix=$1 tool package; shift
  for tool in wrk "$@"; do
    package=$tool; [ "$tool" = perf ] && package=linux-perf
    command -v "$tool" >/dev/null || { echo "$tool is not installed (apt-get install $package)"; exit 1; }
  done
  fpm=${PORTICO_PHP_FPM:-$(ls /usr/sbin/php-fpm* 2>/dev/null | sort | tail -1)}
  [ -x "$fpm" ] || { echo "php-fpm is not installed"; exit 1; }
  work=$(mktemp -d "/tmp/$prefix.XXXXXX")
  trap php_bench_cleanup EXIT
  bin=${PORTICO_BIN:-}
  if [ -z "$bin" ]; then dotnet publish src/Portico -c Release -r linux-x64 -o "$work/bin" >/dev/null; bin="$work/bin/portico"; fi
}

# php_one_server BASE: the site, one config for whichever server runs (server.conf on $port) and a php-fpm pool of
# 8 children on $fport (a free-ish port from BASE), started; for scripts that run the servers one at a time.
php_one_server() {
  mkdir -p "$work/nginx/logs" "$work/portico"
  php_site "$work"
  fport=$(($1 + RANDOM % 200)); port=$((fport + 1))
  php_fpm_conf "$work" "$fport" 8 > "$work/fpm.conf"
  php_server_conf "$work" server "$port" "$fport" 4 > "$work/server.conf"
  "$fpm" --nodaemonize --fpm-config "$work/fpm.conf" $( [ "$(id -u)" = 0 ] && echo -R ) 2>/dev/null &
  echo $! > "$work/fpm-master.pid"
  sleep 1
}

php_bench_cleanup() {
  for f in "$work"/*.pid; do [ -f "$f" ] && kill "$(cat "$f" 2>/dev/null)" 2>/dev/null || true; done
  sleep 0.3
  rm -rf "$work"
}

php_site() {
  mkdir -p "$1/www"
  echo '<?php echo "Hello, World!\n";' > "$1/www/hello.php"
  # 64 KiB that php-fpm writes in several parts (its FastCGI output buffer is 8 KiB), as most real pages are.
  echo '<?php for ($i = 0; $i < 16; $i++) { echo str_repeat("y", 4096); }' > "$1/www/multiwrite.php"
  echo 'Hello, World!' > "$1/www/hello.txt"
  cp /etc/nginx/fastcgi_params "$1/fastcgi_params" 2>/dev/null || cp src/Portico.Config/conf/fastcgi_params "$1/fastcgi_params"
}

php_fpm_conf() { cat <<CONF
[global]
daemonize = no
error_log = $1/fpm.log
pid = $1/fpm.pid
[bench]
$( [ "$(id -u)" = 0 ] && echo "user = root" )
listen = 127.0.0.1:$2
listen.backlog = 1024
pm = static
pm.max_children = $3
pm.max_requests = 0
CONF
}

php_server_conf() { cat <<CONF
daemon off;
master_process $( [ "${WORKERS:-1}" = 1 ] && echo off || echo on );
worker_processes ${WORKERS:-1};
pid $1/$2.pid;
error_log $1/$2-error.log;
events { worker_connections 4096; }
http {
    access_log $( [ "${ACCESS_LOG:-off}" = on ] && echo "$1/$2-access.log" || echo off );
    upstream php { server 127.0.0.1:$4; keepalive $5; }
    server {
        listen 127.0.0.1:$3;
        root $1/www;
        location ~ \.php\$ {
            include fastcgi_params;
            fastcgi_param SCRIPT_FILENAME \$document_root\$fastcgi_script_name;
            fastcgi_keep_conn on;
            fastcgi_pass php;
        }
    }
}
CONF
}
