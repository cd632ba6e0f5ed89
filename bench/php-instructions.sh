#!/usr/bin/env bash
# User-space instructions per request, side by side with nginx, counted by valgrind's callgrind: unlike a
# throughput run on a shared 2-core box, the count barely moves between runs, so it can tell a 3% change from
# noise. Each server runs alone under callgrind behind one php-fpm pool (the same config as php-vs-nginx.sh);
# counters are zeroed after a warm-up and dumped after a wrk run of fixed length. Kernel time is not counted
# (see the CPU-per-request figures of php-vs-nginx.sh for that). A small static file is measured too: the
# difference between the two is what the FastCGI pass costs on its own.
# Usage: [PORTICO_BIN=path] bench/php-instructions.sh [seconds]
# PORTICO_BIN must keep its symbol table (dotnet publish -p:StripSymbols=false); valgrind cannot read the DWARF
# NativeAOT writes, so this script strips the debug sections (strip --strip-debug) of a copy.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
fpm=${PORTICO_PHP_FPM:-$(ls /usr/sbin/php-fpm* 2>/dev/null | sort | tail -1)}
command -v valgrind >/dev/null || { echo "valgrind is not installed (apt-get install valgrind)"; exit 1; }
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 1; }
[ -x "$fpm" ] || { echo "php-fpm is not installed"; exit 1; }
work=$(mktemp -d /tmp/portico-instr.XXXXXX)
cleanup() {
  pkill -9 -f "callgrind-out-file=$work" 2>/dev/null || true
  [ -f "$work/fpm.pid" ] && kill "$(cat "$work/fpm.pid")" 2>/dev/null || true
  sleep 0.3
  rm -rf "$work"
}
trap cleanup EXIT

bin=${PORTICO_BIN:-}
if [ -z "$bin" ]; then dotnet publish src/Portico -c Release -r linux-x64 -p:StripSymbols=false -o "$work/bin" >/dev/null; bin="$work/bin/portico"; fi
cp "$bin" "$work/portico.bin" && strip --strip-debug "$work/portico.bin"

. bench/php-common.sh
php_one_server 19500
mkdir -p "$work/portico-prefix"

# count NAME PATH CMD...: instructions per request of one server for one URL.
count() {
  local name=$1 path=$2; shift 2
  rm -f "$work"/cg.*
  valgrind --tool=callgrind --callgrind-out-file="$work/cg.%p" "$@" >"$work/valgrind.log" 2>&1 &
  local vpid=$!
  for _ in $(seq 120); do curl -fsS -m 2 "http://127.0.0.1:$port/$path" >/dev/null 2>&1 && break; sleep 1; done
  wrk -t1 -c4 -d5s "http://127.0.0.1:$port/$path" >/dev/null
  callgrind_control -z "$vpid" >/dev/null 2>&1
  local n; n=$(wrk -t1 -c4 -d"${secs}s" "http://127.0.0.1:$port/$path" | awk '/requests in/ {print $1}')
  callgrind_control -d "$vpid" >/dev/null 2>&1
  sleep 0.5
  local total; total=$(grep -h '^summary' "$work"/cg.*.1 | awk '{s += $2} END {print s}')
  kill -9 "$vpid" 2>/dev/null; wait "$vpid" 2>/dev/null || true
  sleep 0.5
  echo $((total / n))
}

np=$(count nginx hello.php /usr/sbin/nginx -p "$work/nginx/" -c "$work/server.conf" -e stderr)
ns=$(count nginx hello.txt /usr/sbin/nginx -p "$work/nginx/" -c "$work/server.conf" -e stderr)
pp=$(count portico hello.php "$work/portico.bin" -p "$work/portico-prefix/" -c "$work/server.conf")
ps=$(count portico hello.txt "$work/portico.bin" -p "$work/portico-prefix/" -c "$work/server.conf")
printf '%-10s %12s %12s %14s\n' "" "hello.php" "hello.txt" "FastCGI part"
printf '%-10s %12d %12d %14d\n' nginx "$np" "$ns" $((np - ns))
printf '%-10s %12d %12d %14d\n' portico "$pp" "$ps" $((pp - ps))
printf 'portico/nginx instructions per request: hello.php %.2f, hello.txt %.2f, FastCGI part %.2f\n' \
  "$(echo "$pp / $np" | bc -l)" "$(echo "$ps / $ns" | bc -l)" "$(echo "($pp - $ps) / ($np - $ns)" | bc -l)"
