#!/usr/bin/env bash
# System calls per PHP request, side by side with nginx: each server runs alone behind one php-fpm pool (the
# config of php-vs-nginx.sh) while `perf stat` counts its socket and event-loop system calls over a whole wrk run,
# divided by the requests wrk completed. Unlike throughput, these counts barely move between runs. They show what
# the socket layer costs beyond the work itself: nginx reads only when epoll reports data (2 recvfrom per request:
# client and php-fpm), while .NET tries each receive before it waits (an EAGAIN whenever the data is not there yet).
# Usage: [WORKERS=1] [PORTICO_BIN=path] bench/php-syscalls.sh [seconds] [wrk connections]   (needs perf, as root)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
conns=${2:-32}
threads=$(( conns < 2 ? conns : 2 )) # wrk refuses fewer connections than threads
. bench/php-common.sh
php_bench_start portico-syscalls perf
php_one_server 19700

calls=(recvfrom sendto writev readv recvmsg sendmsg epoll_wait epoll_ctl getsockopt futex)
events=$(printf 'syscalls:sys_enter_%s,' "${calls[@]}")

# count NAME CMD...: prints "name call per-request ..." for each counted call.
count() {
  local name=$1; shift
  "$@" >/dev/null 2>&1 &
  local pid=$!
  echo "$pid" > "$work/server.pid"
  for _ in $(seq 50); do curl -fsS "http://127.0.0.1:$port/hello.php" >/dev/null 2>&1 && break; sleep 0.1; done
  wrk -t"$threads" -c"$conns" -d2s "http://127.0.0.1:$port/hello.php" >/dev/null
  # The server's threads (nginx: its worker, with master_process off) are all under its pid.
  perf stat -e "${events%,}" -p "$pid" -o "$work/$name.perf" &
  local perf=$!
  sleep 0.3
  local requests
  requests=$(wrk -t"$threads" -c"$conns" -d"${secs}s" "http://127.0.0.1:$port/hello.php" | awk '/requests in/ {print $1} /Non-2xx|Socket errors/ {print "  '"$name"':" $0 > "/dev/stderr"}')
  sleep 0.3
  kill -INT "$perf"; wait "$perf" 2>/dev/null || true
  kill -QUIT "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true
  rm -f "$work/server.pid"
  sleep 0.3
  awk -v who="$name" -v n="$requests" '/syscalls:sys_enter_/ {gsub(",", "", $1); sub("syscalls:sys_enter_", "", $2); printf "%s %s %.2f\n", who, $2, $1 / n}' "$work/$name.perf"
}

{
  count nginx /usr/sbin/nginx -p "$work/nginx/" -c "$work/server.conf" -e stderr
  count portico "$bin" -p "$work/portico/" -c "$work/server.conf"
} > "$work/counts"

echo "system calls per request (GET /hello.php, wrk -c$conns, worker_processes ${WORKERS:-1}, keepalive 4)"
printf '%-12s %8s %8s\n' call nginx portico
for call in "${calls[@]}"; do
  printf '%-12s %8s %8s\n' "$call" \
    "$(awk -v c="$call" '$1 == "nginx" && $2 == c {print $3}' "$work/counts")" \
    "$(awk -v c="$call" '$1 == "portico" && $2 == c {print $3}' "$work/counts")"
done
