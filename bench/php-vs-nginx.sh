#!/usr/bin/env bash
# Side-by-side PHP throughput: one php-fpm pool (pm=static) behind Debian's nginx and behind the
# NativeAOT portico binary, the same config for both (worker_processes 1 or WORKERS, fastcgi_keep_conn on +
# upstream keepalive), loaded in turn by wrk from this machine (loopback only, bounded duration).
# Prints requests/s and the server's own CPU per request (user+system, from /proc) for each round, and the
# median ratio portico/nginx.
# PIN=split runs wrk on CPU 1 and the server and php-fpm on CPU 0: the load generator off the server's cores,
# as in a real deployment (the default lets all three share both cores: a contest for CPU time).
# WORKERS=auto (or N) runs both with that many workers (nginx processes, portico event loops); with one, each
# server's single event loop is the bottleneck, so the ratio is close to the ratio of CPU per request.
# ACCESS_LOG=on gives both servers the default access log (combined format, unbuffered, one file each), as a stock
# nginx.conf has; the default is off, to measure the FastCGI pass alone.
# PAGE=multiwrite.php loads a 64 KiB page php-fpm writes in several parts (see php_site) instead of hello.php.
# BACKEND=down starts no php-fpm: every request's connect is refused and both servers answer 502 (and log a
# "connect() failed (111: Connection refused)" line each): the cost of an outage, when a proxy is busiest.
# Usage: [ACCESS_LOG=on] [KEEPALIVE=4] [ROUNDS=3] [PIN=split] [WORKERS=1] [PAGE=hello.php] [BACKEND=down] [PORTICO_BIN=path] bench/php-vs-nginx.sh [seconds] [php-fpm children] [wrk connections]
# Stop every other nginx/portico first: a leftover server on the same port (SO_REUSEPORT) takes part of the load.
# keepalive must stay below the children count: each kept connection pins a php-fpm worker, and with
# keepalive == children new connections queue behind idle pinned workers (both servers stall).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-10}
children=${2:-8}
keepalive=${KEEPALIVE:-4}
conns=${3:-32}
threads=$(( conns < 2 ? conns : 2 )) # wrk refuses fewer connections than threads
page=${PAGE:-hello.php}
. bench/php-common.sh
php_bench_start portico-phpbench
mkdir -p "$work/nginx/logs" "$work/portico"
php_site "$work"
fport=$((19100 + RANDOM % 500)); nport=$((fport + 1)); pport=$((fport + 2))
php_fpm_conf "$work" "$fport" "$children" > "$work/fpm.conf"
php_server_conf "$work" nginx "$nport" "$fport" "$keepalive" > "$work/nginx.conf"
php_server_conf "$work" portico "$pport" "$fport" "$keepalive" > "$work/portico.conf"

server_cpus=0-1; load_cpus=0-1
if [ "${PIN:-}" = split ]; then server_cpus=0; load_cpus=1; fi
down=$( [ "${BACKEND:-up}" = down ] && echo 1 || echo 0 )
if [ "$down" = 0 ]; then
  taskset -c "$server_cpus" "$fpm" --nodaemonize --fpm-config "$work/fpm.conf" $( [ "$(id -u)" = 0 ] && echo -R ) 2>/dev/null &
  echo $! > "$work/fpm-master.pid"
  sleep 1
fi

# The servers' stdout is not the pipe measure() prints to: a server left running after a failure would hold it
# open, and the read below would wait forever.
# One server at a time: a server that stays up keeps its idle upstream connections, and each one pins a
# php-fpm worker the other server then cannot use. So each round starts the server, warms it up, measures,
# and stops it (its connections close and free their workers); the servers alternate for several rounds.
start() {
  if [ "$1" = nginx ]; then
    taskset -c "$server_cpus" /usr/sbin/nginx -p "$work/nginx/" -c "$work/nginx.conf" -e stderr >/dev/null 2>"$work/nginx.stderr" &
  else
    taskset -c "$server_cpus" "$bin" -p "$work/portico/" -c "$work/portico.conf" >/dev/null 2>"$work/portico.stderr" &
  fi
  echo $! > "$work/$1-proc.pid"
  # Up: a 200. Down: any answer (the 502).
  for _ in $(seq 50); do curl -sS $( [ "$down" = 0 ] && echo -f ) -o /dev/null "http://127.0.0.1:$2/hello.php" >/dev/null 2>&1 && return 0; sleep 0.1; done
  cat "$work/$1.stderr" "$work/$1-error.log" 2>/dev/null; exit 1
}
# Down, each round's error log (a line per request) is emptied: it would fill the disk over the rounds.
stop() { kill -QUIT "$(cat "$work/$1-proc.pid")" 2>/dev/null; wait "$(cat "$work/$1-proc.pid")" 2>/dev/null || true; rm -f "$work/$1-proc.pid"; [ "$down" = 0 ] || : > "$work/$1-error.log"; sleep 0.3; }
run() { taskset -c "$load_cpus" wrk -t"$threads" -c"$conns" -d"$1s" "http://127.0.0.1:$2/$page" | awk -v who="$3" -v down="$down" '/Requests\/sec/ {print $2} /requests in/ {print $1 > "'"$work"'/requests"} /Non-2xx|Socket errors/ && !(down && /Non-2xx/) {print "  " who ":" $0 > "/dev/stderr"}'; }
# The server's CPU time, its worker processes included (nginx with a master).
cpu_ticks() {
  local pid; pid=$(cat "$work/$1-proc.pid")
  cat "/proc/$pid/stat" $(pgrep -P "$pid" | sed 's|.*|/proc/&/stat|') 2>/dev/null | sed 's/.*) //' | awk '{s += $12 + $13} END {print s}'
}
# Prints "requests/s cpu-us-per-request".
measure() {
  start "$1" "$2"; run 2 "$2" "$1 (warm-up)" >/dev/null
  local before rps after; before=$(cpu_ticks "$1"); rps=$(run "$secs" "$2" "$1"); after=$(cpu_ticks "$1")
  echo "$rps $(echo "($after - $before) * 1000000 / $(getconf CLK_TCK) / $(cat "$work/requests")" | bc)"
  stop "$1"
}

rounds=${ROUNDS:-3}
echo "php-fpm: $( [ "$down" = 1 ] && echo "DOWN (connects refused, every answer a 502)" || echo "$children static children" ); upstream keepalive $keepalive; worker_processes ${WORKERS:-1}; access_log ${ACCESS_LOG:-off}; wrk -t$threads -c$conns -d${secs}s; GET /$page; $rounds rounds; cpus: server+php-fpm $server_cpus, wrk $load_cpus"
ratios=()
for r in $(seq "$rounds"); do
  read -r n ncpu < <(measure nginx $nport); read -r p pcpu < <(measure portico $pport)
  ratio=$(echo "$p / $n" | bc -l)
  ratios+=("$ratio")
  printf 'round %d: nginx %10s req/s %3s us/req  portico %10s req/s %3s us/req  ratio %.2f\n' "$r" "$n" "$ncpu" "$p" "$pcpu" "$ratio"
done
printf 'median ratio %.2f\n' "$(printf '%s\n' "${ratios[@]}" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}')"
