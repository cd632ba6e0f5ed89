#!/usr/bin/env bash
# Side-by-side static-file throughput: the same files and config under Debian's nginx and the
# NativeAOT portico binary, loaded in turn by wrk from this machine (loopback only).
# Prints requests/s for each and the ratio portico/nginx. Usage: bench/static-vs-nginx.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
work=$(mktemp -d /tmp/portico-bench.XXXXXX)
chmod 755 "$work"
trap 'kill $(cat "$work"/*.pid 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT

command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 1; }
dotnet publish src/Portico -c Release -r linux-x64 -o "$work/bin" >/dev/null

mkdir -p "$work/www" "$work/nginx/logs" "$work/portico"
head -c 1024 /dev/urandom > "$work/www/1k.bin"
head -c 102400 /dev/urandom > "$work/www/100k.bin"
echo '<h1>hello</h1>' > "$work/www/index.html"

nport=18081; pport=18082
conf() { cat <<CONF
daemon off;
master_process on;
worker_processes auto;
user root;
pid $work/$1.pid;
error_log stderr;
events { worker_connections 4096; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    open_file_cache max=1000 inactive=20s;
    server { listen 127.0.0.1:$2; root $work/www; }
}
CONF
}
conf nginx $nport > "$work/nginx.conf"
conf portico $pport | grep -v open_file_cache > "$work/portico.conf"

/usr/sbin/nginx -p "$work/nginx/" -c "$work/nginx.conf" -e stderr 2>/dev/null &
"$work/bin/portico" -p "$work/portico/" -c "$work/portico.conf" 2>/dev/null &
sleep 1

run() { wrk -t2 -c64 -d"${secs}s" "http://127.0.0.1:$1$2" | awk '/Requests\/sec/ {print $2}'; }
printf '%-12s %12s %12s %8s\n' path nginx portico ratio
for path in ${PATHS:-/index.html /1k.bin /100k.bin}; do
  run $nport "$path" >/dev/null; run $pport "$path" >/dev/null   # warm up
  n=$(run $nport "$path"); p=$(run $pport "$path")
  printf '%-12s %12s %12s %8.2f\n' "$path" "$n" "$p" "$(echo "$p / $n" | bc -l)"
done
