#!/usr/bin/env bash
# Portico vs nginx vs HAProxy as plain reverse proxies, one worker each, in front of the
# same nginx backend (small JSON body), driven by the same wrk settings in one run.
# Then: RSS per idle keep-alive connection, instructions per request under callgrind,
# and the microbenchmarks. Results go to stdout and bench/results/latest.txt.
#
# Pinning: each proxy runs alone on CPU 0; the backend and wrk share CPU 1, so every
# proxy gets the same single core. Environment knobs: DURATION (s, default 5),
# CONNECTIONS (default "64 256"), ROUNDS (default 7), SKIP_CALLGRIND=1 (CALLGRIND_CASES picks its cases), SKIP_IDLE=1,
# SKIP_HEAD_TO_HEAD=1, SKIP_BALANCING=1, SKIP_PLUGINS=1, SKIP_RATE_LIMITING=1, SKIP_CACHE=1, SKIP_SEPARATE=1,
# SKIP_AGGREGATE=1, SKIP_TRANSFORM=1, SKIP_COMPRESSION=1, SKIP_TLS=1, SKIP_HTTP2=1, SKIP_GRPC=1, SKIP_GRAPHQL=1, SKIP_OIDC=1, SKIP_OBSERVABILITY=1, SKIP_SLOWLORIS=1 (SLOWLORIS_CONNECTIONS, default 10000), SKIP_ADMIN=1, SKIP_MICRO=1; OBS_VARIANTS picks the
# observability section's stacks (default: portico-obs-notrace portico-obs portico-obs-all); H2_SHAPES the
# HTTP/2 section's clients:streams cases (default "16:1 16:32 64:10 4:100");
# BENCH_BIN measures another Portico binary (default build/release/portico).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BIN=${BENCH_BIN:-$ROOT/build/release/portico}  # BENCH_BIN: another build to measure
WORK=$(mktemp -d /tmp/portico-bench-XXXXXX)
chmod 755 "$WORK"  # nginx's workers (user nobody when run as root) write its proxy_cache files there
DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-7}   # proxies are measured in alternation, ROUNDS times each; medians are reported
CONNECTIONS=${CONNECTIONS:-"64 256"}
BACKEND_PORT=19500; NGINX_PORT=19501; HAPROXY_PORT=19502; PORTICO_PORT=19503; PORTICO3_PORT=19504; PORTICO_AUTH_PORT=19505
PORTICO_RL_PORT=19506; REDIS_PORT=19507; NGINX_CACHE_PORT=19508; PORTICO_CACHE_PORT=19509; PORTICO_AGG_PORT=19510
PORTICO_OBS_PORT=19511; PORTICO_OBS_ALL_PORT=19512; PORTICO_OBS_NOTRACE_PORT=19513; PORTICO_TRANSFORM_PORT=19514
NGINX_GZIP_PORT=19515; PORTICO_COMPRESS_PORT=19516; NGINX_TLS_PORT=19517; PORTICO_TLS_PORT=19518
NGINX_H2C_PORT=19519; NGINX_H2_PORT=19520; PORTICO_H2C_PORT=19521; PORTICO_H2_PORT=19522
GRPC_SERVICE_PORT=19523; PORTICO_GRPC_PORT=19524; PORTICO_GRAPHQL_PORT=19525; DELAY_BACKEND_PORT=19526
PORTICO_OIDC_PORT=19527
WRK_HEADERS=()
mkdir -p bench/results
OUT=bench/results/latest.txt
: > "$OUT"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM
say() { echo "$@" | tee -a "$OUT"; }
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

sed -e "s#@WORK@#$WORK#g" -e "s#@PORT@#$BACKEND_PORT#g" bench/conf/backend-nginx.conf > "$WORK/backend.conf"
sed -e "s#@WORK@#$WORK#g" -e "s#@PORT@#$NGINX_PORT#g" -e "s#@BACKEND@#$BACKEND_PORT#g" bench/conf/proxy-nginx.conf > "$WORK/nginx.conf"
sed -e "s#@WORK@#$WORK#g" -e "s#@PORT@#$NGINX_CACHE_PORT#g" -e "s#@BACKEND@#$BACKEND_PORT#g" bench/conf/proxy-nginx-cache.conf > "$WORK/nginx-cache.conf"
sed -e "s#@PORT@#$HAPROXY_PORT#g" -e "s#@BACKEND@#$BACKEND_PORT#g" bench/conf/haproxy.cfg > "$WORK/haproxy.cfg"
sed -e "s#@BACKEND@#$BACKEND_PORT#g" bench/conf/kong.yml > "$WORK/kong.yml"
sed -e "s#@BACKEND@#$BACKEND_PORT#g" bench/conf/kong-3targets.yml > "$WORK/kong-3targets.yml"
sed -e "s#@BACKEND@#$BACKEND_PORT#g" bench/conf/kong-cache.yml > "$WORK/kong-cache.yml"
sed -e "s#@BACKEND@#$BACKEND_PORT#g" bench/conf/kong-aggregate.yml > "$WORK/kong-aggregate.yml"
sed -e "s#@BACKEND@#$BACKEND_PORT#g" -e "s#@DELAYED@#$DELAY_BACKEND_PORT#g" bench/conf/kong-graphql.yml > "$WORK/kong-graphql.yml"
sed -e "s#@BACKEND@#$BACKEND_PORT#g" bench/conf/kong-oidc.yml > "$WORK/kong-oidc.yml"
sed -e "s#@BACKEND@#$BACKEND_PORT#g" bench/conf/kong-transform.yml > "$WORK/kong-transform.yml"
sed -e "s#@BACKEND@#$BACKEND_PORT#g" bench/conf/kong-compression.yml > "$WORK/kong-compression.yml"
sed -e "s#@WORK@#$WORK#g" -e "s#@PORT@#$NGINX_GZIP_PORT#g" -e "s#@BACKEND@#$BACKEND_PORT#g" bench/conf/proxy-nginx-gzip.conf > "$WORK/nginx-gzip.conf"
sed -e "s#@WORK@#$WORK#g" -e "s#@PORT@#$NGINX_TLS_PORT#g" -e "s#@BACKEND@#$BACKEND_PORT#g" bench/conf/proxy-nginx-tls.conf > "$WORK/nginx-tls.conf"
sed -e "s#@WORK@#$WORK#g" -e "s#@PORT@#$NGINX_H2C_PORT#g" -e "s#@TLSPORT@#$NGINX_H2_PORT#g" -e "s#@BACKEND@#$BACKEND_PORT#g" \
  bench/conf/proxy-nginx-h2.conf > "$WORK/nginx-h2.conf"
# One ECDSA P-256 certificate for both TLS proxies.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/tls-key.pem" -out "$WORK/tls-cert.pem" \
  -days 30 -subj /CN=localhost 2>/dev/null
sed -e "s#@BACKEND@#$BACKEND_PORT#g" -e "s#@SAMPLING@#0.01#g" bench/conf/kong-observability.yml > "$WORK/kong-observability.yml"
sed -e "s#@BACKEND@#$BACKEND_PORT#g" -e "s#@SAMPLING@#1.0#g" bench/conf/kong-observability.yml > "$WORK/kong-observability-all.yml"
# The same without the opentelemetry entry (the file's last plugin): what tracing adds.
sed -e "s#@BACKEND@#$BACKEND_PORT#g" -e '/^- name: opentelemetry/,$d' bench/conf/kong-observability.yml > "$WORK/kong-observability-notrace.yml"

wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 not open" >&2; return 1; }

taskset -c 1 nginx -c "$WORK/backend.conf" -p "$WORK" & pids+=($!)
wait_port $BACKEND_PORT

start_proxy() {  # name -> sets PROXY_PID
  case $1 in
    nginx)   taskset -c 0 nginx -c "$WORK/nginx.conf" -p "$WORK" & ;;
    haproxy) taskset -c 0 haproxy -f "$WORK/haproxy.cfg" -db & ;;
    portico) taskset -c 0 "$BIN" run -c "$WORK/kong.yml" --proxy-listen 127.0.0.1:$PORTICO_PORT \
               --admin-listen off --workers 1 --access-log off --log-level warn & ;;
    portico3) taskset -c 0 "$BIN" run -c "$WORK/kong-3targets.yml" --proxy-listen 127.0.0.1:$PORTICO3_PORT \
               --admin-listen off --workers 1 --access-log off --log-level warn & ;;
    portico-auth) taskset -c 0 "$BIN" run -c "$WORK/kong-auth.yml" --proxy-listen 127.0.0.1:$PORTICO_AUTH_PORT \
               --admin-listen off --workers 1 --access-log off --log-level warn & ;;
    nginx-cache) taskset -c 0 nginx -c "$WORK/nginx-cache.conf" -p "$WORK" & ;;
    portico-cache) taskset -c 0 "$BIN" run -c "$WORK/kong-cache.yml" --proxy-listen 127.0.0.1:$PORTICO_CACHE_PORT \
               --admin-listen off --workers 1 --access-log off --log-level warn & ;;
    portico-agg) taskset -c 0 "$BIN" run -c "$WORK/kong-aggregate.yml" --proxy-listen 127.0.0.1:$PORTICO_AGG_PORT \
               --admin-listen off --workers 1 --access-log off --log-level warn & ;;
    portico-oidc) taskset -c 0 "$BIN" run -c "$WORK/kong-oidc.yml" --proxy-listen 127.0.0.1:$PORTICO_OIDC_PORT \
               --admin-listen off --workers 1 --access-log off --log-level warn & ;;
    portico-graphql) taskset -c 0 "$BIN" run -c "$WORK/kong-graphql.yml" --proxy-listen 127.0.0.1:$PORTICO_GRAPHQL_PORT \
               --admin-listen off --workers 1 --access-log off --log-level warn & ;;
    portico-transform) taskset -c 0 "$BIN" run -c "$WORK/kong-transform.yml" --proxy-listen 127.0.0.1:$PORTICO_TRANSFORM_PORT \
               --admin-listen off --workers 1 --access-log off --log-level warn & ;;
    portico-compress) taskset -c 0 "$BIN" run -c "$WORK/kong-compression.yml" --proxy-listen 127.0.0.1:$PORTICO_COMPRESS_PORT \
               --admin-listen off --workers 1 --access-log off --log-level warn & ;;
    nginx-gzip) taskset -c 0 nginx -c "$WORK/nginx-gzip.conf" -p "$WORK" & ;;
    nginx-tls) taskset -c 0 nginx -c "$WORK/nginx-tls.conf" -p "$WORK" & ;;
    portico-tls) taskset -c 0 "$BIN" run -c "$WORK/kong.yml" --proxy-listen "127.0.0.1:$PORTICO_TLS_PORT ssl" \
               --ssl-cert "$WORK/tls-cert.pem" --ssl-cert-key "$WORK/tls-key.pem" \
               --admin-listen off --workers 1 --access-log off --log-level warn & ;;
    nginx-h2) taskset -c 0 nginx -c "$WORK/nginx-h2.conf" -p "$WORK" & ;;
    portico-h2) taskset -c 0 "$BIN" run -c "$WORK/kong.yml" --proxy-listen "127.0.0.1:$PORTICO_H2C_PORT http2" \
               --proxy-listen "127.0.0.1:$PORTICO_H2_PORT http2 ssl" --ssl-cert "$WORK/tls-cert.pem" --ssl-cert-key "$WORK/tls-key.pem" \
               --admin-listen off --workers 1 --access-log off --log-level warn & ;;
    portico-rl) taskset -c 0 "$BIN" run -c "$WORK/kong-ratelimit.yml" --proxy-listen 127.0.0.1:$PORTICO_RL_PORT \
               --admin-listen off --workers 1 --access-log off --log-level warn & ;;
    portico-obs) taskset -c 0 "$BIN" run -c "$WORK/kong-observability.yml" --proxy-listen 127.0.0.1:$PORTICO_OBS_PORT \
               --admin-listen 127.0.0.1:$((PORTICO_OBS_PORT + 100)) --workers 1 --access-log "$WORK/obs-access.log" \
               --log-level warn & ;;
    portico-obs-notrace) taskset -c 0 "$BIN" run -c "$WORK/kong-observability-notrace.yml" --proxy-listen 127.0.0.1:$PORTICO_OBS_NOTRACE_PORT \
               --admin-listen 127.0.0.1:$((PORTICO_OBS_NOTRACE_PORT + 100)) --workers 1 --access-log "$WORK/obs-notrace-access.log" \
               --log-level warn & ;;
    portico-obs-all) taskset -c 0 "$BIN" run -c "$WORK/kong-observability-all.yml" --proxy-listen 127.0.0.1:$PORTICO_OBS_ALL_PORT \
               --admin-listen 127.0.0.1:$((PORTICO_OBS_ALL_PORT + 100)) --workers 1 --access-log "$WORK/obs-all-access.log" \
               --log-level warn & ;;
  esac
  PROXY_PID=$!
}
port_of() { case $1 in nginx) echo $NGINX_PORT;; haproxy) echo $HAPROXY_PORT;; portico) echo $PORTICO_PORT;; portico3) echo $PORTICO3_PORT;; esac; }

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# wrk summary -> "rps p50_ms p99_ms cpu_percent cpu_us_per_request" (CPU of the proxy process)
run_wrk() {
  local port=$1 conns=$2 pid=$3
  taskset -c 1 wrk -t1 -c"$conns" -d2s "http://127.0.0.1:$port/users/1" >/dev/null  # warm-up
  local before after
  before=$(cpu_ticks "$pid")
  taskset -c 1 wrk -t1 -c"$conns" -d"${DURATION}s" --latency "http://127.0.0.1:$port/users/1" > "$WORK/wrk.txt"
  after=$(cpu_ticks "$pid")
  read -r rps p50 p99 < <(/usr/bin/python3 bench/parse_wrk.py < "$WORK/wrk.txt")
  /usr/bin/python3 -c "
ticks=($after-$before)/$(getconf CLK_TCK); rps=$rps
print('$rps $p50 $p99 %.0f %.1f' % (100.0*ticks/$DURATION, 1e6*ticks/max(1.0, rps*$DURATION)))"
}
worker_pid() {  # the process doing the proxying (nginx: the worker, not the master)
  if [ "$1" = nginx ]; then sleep 0.3; pgrep -P "$(cat "$WORK/nginx-proxy.pid")" | head -1; else echo "$PROXY_PID"; fi
}

say "# Portico benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, wrk -t1 -d${DURATION}s, one worker per proxy,"
say "# $ROUNDS alternating rounds per proxy, medians shown (raw rounds in bench/results/latest.txt)"
say "# backend: nginx returning a 56-byte JSON body; proxies pinned to CPU 0, backend + wrk on CPU 1"
median() { /usr/bin/python3 -c "import statistics,sys; print(statistics.median(float(x) for x in sys.argv[1:]))" "$@"; }
declare -A RPS P50 P99 CPU CPUREQ RAW
if [ "${SKIP_SEPARATE:-0}" != 1 ]; then
for conns in $CONNECTIONS; do
  for round in $(seq "$ROUNDS"); do
    for name in nginx haproxy portico; do
      start_proxy $name
      wait_port "$(port_of $name)"
      RAW[$name,$conns,$round]=$(run_wrk "$(port_of $name)" "$conns" "$(worker_pid $name)")
      kill "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true
      sleep 0.5
    done
  done
  for name in nginx haproxy portico; do
    rps=(); p50=(); p99=(); cpu=(); cpureq=()
    for round in $(seq "$ROUNDS"); do
      read -r a b c d e <<< "${RAW[$name,$conns,$round]}"
      rps+=("$a"); p50+=("$b"); p99+=("$c"); cpu+=("$d"); cpureq+=("$e")
      echo "  raw $name -c$conns round $round: $a req/s p50 $b p99 $c cpu $d% ${e}us/req" >> "$OUT"
    done
    RPS[$name,$conns]=$(median "${rps[@]}"); P50[$name,$conns]=$(median "${p50[@]}"); P99[$name,$conns]=$(median "${p99[@]}")
    CPU[$name,$conns]=$(median "${cpu[@]}"); CPUREQ[$name,$conns]=$(median "${cpureq[@]}")
  done
  say ""
  say "## wrk -t1 -c$conns -d${DURATION}s --latency http://127.0.0.1:PORT/users/1 (median of $ROUNDS)"
  say "$(printf '%-8s %12s %9s %9s %8s %14s' proxy 'requests/s' 'p50 ms' 'p99 ms' 'CPU %' 'CPU us/request')"
  for name in nginx haproxy portico; do
    say "$(printf '%-8s %12s %9s %9s %8s %14s' $name "${RPS[$name,$conns]}" "${P50[$name,$conns]}" "${P99[$name,$conns]}" "${CPU[$name,$conns]}" "${CPUREQ[$name,$conns]}")"
  done
  say "$(/usr/bin/python3 -c "
p,n,h=${RPS[portico,$conns]},${RPS[nginx,$conns]},${RPS[haproxy,$conns]}
q,m,k=${P99[portico,$conns]},${P99[nginx,$conns]},${P99[haproxy,$conns]}
print('medians: portico/nginx requests/s %.2fx, portico/haproxy %.2fx; p99 portico/nginx %.2fx, portico/haproxy %.2fx' % (p/n, p/h, q/m, q/k))")"
  # The machine's speed drifts between rounds; a round's three runs are ~20 s apart, so
  # per-round ratios cancel most of the drift.
  pairs=""
  for round in $(seq "$ROUNDS"); do pairs+="${RAW[portico,$conns,$round]}|${RAW[nginx,$conns,$round]}|${RAW[haproxy,$conns,$round]};"; done
  say "$(/usr/bin/python3 -c "
import statistics
rows=[[list(map(float, part.split())) for part in r.split('|')] for r in '$pairs'.strip(';').split(';')]
rn=[p[0]/n[0] for p,n,h in rows]; rh=[p[0]/h[0] for p,n,h in rows]
ln=[p[2]/n[2] for p,n,h in rows]
print('per-round ratios portico/nginx requests/s: %s (median %.2fx); p99: median %.2fx; portico/haproxy requests/s median %.2fx'
      % (' '.join('%.2f' % x for x in rn), statistics.median(rn), statistics.median(ln), statistics.median(rh)))")"
done
fi

# Head to head: Portico and a rival proxy run at the same time, both pinned to CPU 0, each
# driven by its own wrk. The scheduler gives both the same CPU share under the same
# machine conditions, so the requests/s ratio is the ratio of work per request, free of
# the drift that separate runs suffer on this VM.
# One round of two proxies driven at once: "base_rps base_p99 other_rps other_p99".
# BASE_PATH / OTHER_PATH (default /users/1) and the WRK_HEADERS array (sent by both) vary the requests.
race() {  # base_port other_port conns -> "b_rps b_p99 o_rps o_p99 b_cpu o_cpu"
  # b_cpu / o_cpu: CPU (user + sys, every thread) per request in microseconds, when BASE_PID and
  # OTHER_PID name the two proxies' processes ("- -" otherwise).
  local headers=()
  for h in "${WRK_HEADERS[@]}"; do headers+=(-H "$h"); done
  local b_ticks0=0 o_ticks0=0
  if [ -n "${BASE_PID:-}" ]; then b_ticks0=$(cpu_ticks "$BASE_PID"); o_ticks0=$(cpu_ticks "$OTHER_PID"); fi
  nstat -n > /dev/null 2>&1 || true
  taskset -c 1 wrk -t1 -c"$3" -d"${DURATION}s" --latency "${headers[@]}" "${SCHEME:-http}://127.0.0.1:$1${BASE_PATH:-/users/1}" > "$WORK/wrk-base.txt" &
  local wrk_pid=$!
  taskset -c 1 wrk -t1 -c"$3" -d"${DURATION}s" --latency "${headers[@]}" "${SCHEME:-http}://127.0.0.1:$2${OTHER_PATH:-/users/1}" > "$WORK/wrk-other.txt"
  wait $wrk_pid
  local b_cpu=- o_cpu=-
  local b_rps b_p50 b_p99 o_rps o_p50 o_p99
  read -r b_rps b_p50 b_p99 < <(/usr/bin/python3 bench/parse_wrk.py "base, port $1, -c$3" < "$WORK/wrk-base.txt")
  read -r o_rps o_p50 o_p99 < <(/usr/bin/python3 bench/parse_wrk.py "other, port $2, -c$3" < "$WORK/wrk-other.txt")
  if [ -n "${BASE_PID:-}" ]; then
    b_cpu=$(/usr/bin/python3 -c "print('%.2f' % (1e6 * ($(cpu_ticks "$BASE_PID") - $b_ticks0) / $(getconf CLK_TCK) / ($b_rps * $DURATION)))")
    o_cpu=$(/usr/bin/python3 -c "print('%.2f' % (1e6 * ($(cpu_ticks "$OTHER_PID") - $o_ticks0) / $(getconf CLK_TCK) / ($o_rps * $DURATION)))")
  fi
  # The loopback's TCP events of the round (connections opened, retransmissions, listen queue
  # overflows), kept with the raw results: what to look at when a round has a long tail.
  echo "    tcp -c$3 $1/$2: $(nstat 2>/dev/null | awk '/ActiveOpens|Retrans|Listen|Timeouts|SynRecv|Drop/ {printf "%s=%s ", $1, $2}')" >> "$OUT"
  echo "$b_rps $b_p99 $o_rps $o_p99 $b_cpu $o_cpu"
}
ratio() { /usr/bin/python3 -c "print('%.3f' % ($1/$2))"; }
# ROUNDS races of base vs other at each connection count; prints the other/base ratios, and
# with BASE_PID / OTHER_PID the ratio of CPU per request base/other: the throughput ratio of
# two proxies that each had the CPU to themselves (the races' requests/s also depend on the
# load generator's core, which both share with the backend).
race_rounds() {  # label base_port other_port
  local conns round b_rps b_p99 o_rps o_p99 b_cpu o_cpu
  for conns in $CONNECTIONS; do
    local ratios=() lat=() cpu=()
    for round in $(seq "$ROUNDS"); do
      read -r b_rps b_p99 o_rps o_p99 b_cpu o_cpu < <(race "$2" "$3" "$conns")
      echo "  raw $1 -c$conns round $round: base $b_rps req/s p99 $b_p99 cpu/req $b_cpu us, other $o_rps req/s p99 $o_p99 cpu/req $o_cpu us" >> "$OUT"
      ratios+=("$(ratio "$o_rps" "$b_rps")"); lat+=("$(ratio "$o_p99" "$b_p99")")
      if [ "$b_cpu" != - ]; then cpu+=("$(ratio "$b_cpu" "$o_cpu")"); fi
    done
    say "$(printf -- '-c%-4s %s, requests/s: %s (median %.3fx); p99 ratio median %.2fx' "$conns" "$1" \
      "${ratios[*]}" "$(median "${ratios[@]}")" "$(median "${lat[@]}")")"
    if [ ${#cpu[@]} -gt 0 ]; then
      say "$(printf -- '-c%-4s %s, CPU per request base/other: %s (median %.3fx)' "$conns" "$1" "${cpu[*]}" "$(median "${cpu[@]}")")"
    fi
  done
}

# The same two instances measured one at a time (the other idle), in alternation, ROUNDS times
# at each connection count: requests/s and CPU per request of each alone on CPU 0, and the
# ratios. A race makes the two share the core's caches too, which costs the one with the larger
# working set (a fan-out's four sockets per request) more than its own work; this is the cost
# without a neighbour. Uses BASE_PID / OTHER_PID and BASE_PATH / OTHER_PATH as race_rounds does.
alone_rounds() {  # label base_port other_port
  local conns round b_rps b_cpu o_rps o_cpu
  for conns in $CONNECTIONS; do
    local ratios=() cpu=()
    for round in $(seq "$ROUNDS"); do
      read -r b_rps b_cpu < <(alone_run "$BASE_PID" "http://127.0.0.1:$2${BASE_PATH:-/users/1}" "$conns")
      read -r o_rps o_cpu < <(alone_run "$OTHER_PID" "http://127.0.0.1:$3${OTHER_PATH:-/users/1}" "$conns")
      echo "  raw alone $1 -c$conns round $round: base $b_rps req/s cpu/req $b_cpu us, other $o_rps req/s cpu/req $o_cpu us" >> "$OUT"
      ratios+=("$(ratio "$o_rps" "$b_rps")"); cpu+=("$(ratio "$b_cpu" "$o_cpu")")
    done
    say "$(printf -- '-c%-4s %s, each alone: requests/s %s (median %.3fx); CPU per request base/other %s (median %.3fx)' \
      "$conns" "$1" "${ratios[*]}" "$(median "${ratios[@]}")" "${cpu[*]}" "$(median "${cpu[@]}")")"
  done
}
alone_run() {  # pid url conns -> "requests/s cpu_us_per_request" (WRK_HEADERS sent, as by race)
  local ticks0 rps headers=()
  for h in "${WRK_HEADERS[@]}"; do headers+=(-H "$h"); done
  ticks0=$(cpu_ticks "$1")
  taskset -c 1 wrk -t1 -c"$3" -d"${DURATION}s" --latency "${headers[@]}" "$2" > "$WORK/wrk-alone.txt"
  read -r rps _ _ < <(/usr/bin/python3 bench/parse_wrk.py "alone, $2, -c$3" < "$WORK/wrk-alone.txt")
  /usr/bin/python3 -c "print('$rps %.2f' % (1e6 * ($(cpu_ticks "$1") - $ticks0) / $(getconf CLK_TCK) / ($rps * $DURATION)))"
}

# ROUNDS pairs of wrk -c4 runs, straight to the backend then through `url`: the p99 each and
# the difference (the latency the gateway adds at moderate load), medians.
added_latency() {  # label url
  local direct=() via=() added=() round d99 v_rps v99
  for round in $(seq "$ROUNDS"); do
    taskset -c 1 wrk -t1 -c4 -d"${DURATION}s" --latency "http://127.0.0.1:$BACKEND_PORT/users/1" > "$WORK/wrk-direct.txt"
    taskset -c 1 wrk -t1 -c4 -d"${DURATION}s" --latency "$2" > "$WORK/wrk-via.txt"
    read -r _ _ d99 < <(/usr/bin/python3 bench/parse_wrk.py < "$WORK/wrk-direct.txt")
    read -r v_rps _ v99 < <(/usr/bin/python3 bench/parse_wrk.py < "$WORK/wrk-via.txt")
    echo "  raw added latency ($1) round $round: backend p99 $d99 ms, p99 $v99 ms ($v_rps req/s)" >> "$OUT"
    direct+=("$d99"); via+=("$v99"); added+=("$(/usr/bin/python3 -c "print('%.3f' % ($v99 - $d99))")")
  done
  say "$(printf 'p99 backend direct %s ms, %s %s ms, added %s ms (medians)' "$(median "${direct[@]}")" "$1" \
    "$(median "${via[@]}")" "$(median "${added[@]}")")"
}

if [ "${SKIP_HEAD_TO_HEAD:-0}" != 1 ]; then
  say ""
  say "## head to head on one core (both proxies on CPU 0 at once, wrk -t1 -cN -d${DURATION}s each, $ROUNDS rounds)"
  for rival in nginx haproxy; do
    start_proxy $rival; rival_pid=$PROXY_PID
    start_proxy portico; portico_pid=$PROXY_PID
    wait_port "$(port_of $rival)"; wait_port $PORTICO_PORT
    rival_worker=$rival_pid; [ "$rival" = nginx ] && rival_worker=$(worker_pid nginx)
    BASE_PID=$rival_worker OTHER_PID=$portico_pid race_rounds "portico/$rival" "$(port_of $rival)" $PORTICO_PORT
    kill "$portico_pid" "$rival_pid"; wait "$portico_pid" "$rival_pid" 2>/dev/null || true
    sleep 0.5
  done
fi

# Balancing cost: the same route over one target and over three (round-robin), both
# Portico instances on CPU 0 at once, each driven by its own wrk (as head to head above).
if [ "${SKIP_BALANCING:-0}" != 1 ]; then
  say ""
  say "## balancing cost: three targets vs one (both Portico instances on CPU 0 at once, wrk -t1 -cN -d${DURATION}s each, $ROUNDS rounds)"
  start_proxy portico; one_pid=$PROXY_PID
  start_proxy portico3; three_pid=$PROXY_PID
  wait_port $PORTICO_PORT; wait_port $PORTICO3_PORT
  BASE_PID=$one_pid OTHER_PID=$three_pid race_rounds "three/one targets" $PORTICO_PORT $PORTICO3_PORT
  kill "$one_pid" "$three_pid"; wait "$one_pid" "$three_pid" 2>/dev/null || true
  sleep 0.5
fi

# Authentication cost: key-auth + jwt (HS256) + acl on the route vs the same route without
# plugins, then jwt RS256 with a repeated token, with and without the verification cache.
# Both Portico instances on CPU 0 at once, each driven by its own wrk, both sent the same
# headers (the plugin-less route forwards them).
if [ "${SKIP_PLUGINS:-0}" != 1 ]; then
  say ""
  say "## authentication plugins vs none (both Portico instances on CPU 0 at once, wrk -t1 -cN -d${DURATION}s each, $ROUNDS rounds)"
  /usr/bin/python3 bench/auth_config.py --backend $BACKEND_PORT --config "$WORK/kong-auth.yml" --tokens "$WORK/tokens.env"
  # shellcheck disable=SC1091
  source "$WORK/tokens.env"
  start_proxy portico; plain_pid=$PROXY_PID
  start_proxy portico-auth; auth_pid=$PROXY_PID
  wait_port $PORTICO_PORT; wait_port $PORTICO_AUTH_PORT
  for case in "key-auth + jwt HS256 + acl|/auth/users/1|$HS256_TOKEN" \
              "key-auth + jwt HS256 + acl, verification cache off|/auth-nocache/users/1|$HS256_TOKEN" "jwt RS256, repeated token, verification cache|/rs256/users/1|$RS256_TOKEN" \
              "jwt RS256, repeated token, cache off|/rs256-nocache/users/1|$RS256_TOKEN"; do
    IFS='|' read -r label path token <<< "$case"
    WRK_HEADERS=("apikey: $BENCH_KEY" "Authorization: Bearer $token")
    BASE_PID=$plain_pid OTHER_PID=$auth_pid BASE_PATH=/users/1 OTHER_PATH=$path \
      race_rounds "$label / no plugins" $PORTICO_PORT $PORTICO_AUTH_PORT
  done
  WRK_HEADERS=()
  kill "$plain_pid" "$auth_pid"; wait "$plain_pid" "$auth_pid" 2>/dev/null || true
  sleep 0.5
fi

# Rate limiting cost: the same route with the rate-limiting plugin (a limit never reached, so
# every request is proxied) vs without, local policy and redis policy (redis-server on CPU 1
# with the backend and wrk), both Portico instances on CPU 0 at once.
if [ "${SKIP_RATE_LIMITING:-0}" != 1 ]; then
  say ""
  say "## rate limiting vs none (both Portico instances on CPU 0 at once, wrk -t1 -cN -d${DURATION}s each, $ROUNDS rounds)"
  taskset -c 1 redis-server --port $REDIS_PORT --bind 127.0.0.1 --save "" --appendonly no --loglevel warning \
    >/dev/null & redis_pid=$!; pids+=($redis_pid)
  cat > "$WORK/kong-ratelimit.yml" <<YAML
_format_version: "3.0"
services:
- name: backend
  url: http://127.0.0.1:$BACKEND_PORT
  routes:
  - name: local
    paths: [/local]
    plugins:
    - name: rate-limiting
      config: {hour: 1000000000, limit_by: ip, policy: local}
  - name: redis
    paths: [/redis]
    plugins:
    - name: rate-limiting
      config: {hour: 1000000000, limit_by: ip, policy: redis, redis: {host: 127.0.0.1, port: $REDIS_PORT}}
YAML
  wait_port $REDIS_PORT
  start_proxy portico; plain_pid=$PROXY_PID
  start_proxy portico-rl; rl_pid=$PROXY_PID
  wait_port $PORTICO_PORT; wait_port $PORTICO_RL_PORT
  BASE_PID=$plain_pid OTHER_PID=$rl_pid BASE_PATH=/users/1 OTHER_PATH=/local/users/1 \
    race_rounds "rate-limiting local / none" $PORTICO_PORT $PORTICO_RL_PORT
  BASE_PID=$plain_pid OTHER_PID=$rl_pid BASE_PATH=/users/1 OTHER_PATH=/redis/users/1 \
    race_rounds "rate-limiting redis / none" $PORTICO_PORT $PORTICO_RL_PORT
  kill "$plain_pid" "$rl_pid" "$redis_pid"; wait "$plain_pid" "$rl_pid" "$redis_pid" 2>/dev/null || true
  sleep 0.5
fi

# Cache hits: Portico's proxy-cache vs nginx's proxy_cache on the same object (both on CPU 0
# at once, each driven by its own wrk; the object is fetched once before the rounds), then
# Portico's hit vs Portico proxying the same request without the cache.
if [ "${SKIP_CACHE:-0}" != 1 ]; then
  say ""
  say "## cache hits (both proxies on CPU 0 at once, wrk -t1 -cN -d${DURATION}s each, $ROUNDS rounds)"
  start_proxy nginx-cache; nginx_cache_pid=$PROXY_PID
  start_proxy portico-cache; cache_pid=$PROXY_PID
  wait_port $NGINX_CACHE_PORT; wait_port $PORTICO_CACHE_PORT
  for port in $NGINX_CACHE_PORT $PORTICO_CACHE_PORT; do curl -s -o /dev/null "http://127.0.0.1:$port/users/1"; done
  say "nginx: $(curl -s -D - -o /dev/null "http://127.0.0.1:$NGINX_CACHE_PORT/users/1" | grep -i '^x-cache-status' | tr -d '\r')," \
      "portico: $(curl -s -D - -o /dev/null "http://127.0.0.1:$PORTICO_CACHE_PORT/users/1" | grep -i '^x-cache-status' | tr -d '\r')"
  race_rounds "portico-cache hit / nginx proxy_cache hit" $NGINX_CACHE_PORT $PORTICO_CACHE_PORT
  kill "$nginx_cache_pid"; wait "$nginx_cache_pid" 2>/dev/null || true
  start_proxy portico; plain_pid=$PROXY_PID
  wait_port $PORTICO_PORT
  race_rounds "portico-cache hit / portico proxied" $PORTICO_PORT $PORTICO_CACHE_PORT
  kill "$plain_pid" "$cache_pid"; wait "$plain_pid" "$cache_pid" 2>/dev/null || true
  sleep 0.5
fi

# Aggregation (issue 12): GET /dashboard fans out to three backend calls and answers one
# composed object, raced against a plain proxied request (one upstream call) on the same core;
# then the latency it adds at moderate load: p99 through /dashboard vs straight to the backend.
if [ "${SKIP_AGGREGATE:-0}" != 1 ]; then
  say ""
  say "## aggregation: 3 backend calls composed vs one proxied request (both Portico instances on CPU 0 at once, wrk -t1 -cN -d${DURATION}s each, $ROUNDS rounds)"
  start_proxy portico; plain_pid=$PROXY_PID
  start_proxy portico-agg; agg_pid=$PROXY_PID
  wait_port $PORTICO_PORT; wait_port $PORTICO_AGG_PORT
  say "answer: $(curl -s -D - "http://127.0.0.1:$PORTICO_AGG_PORT/dashboard" | grep -ai '^x-portico-completed' | tr -d '\r')"
  OTHER_PATH=/dashboard race_rounds "aggregate(3 calls) / proxied" $PORTICO_PORT $PORTICO_AGG_PORT
  kill "$plain_pid"; wait "$plain_pid" 2>/dev/null || true
  say "added latency at moderate load (wrk -t1 -c4 -d${DURATION}s, $ROUNDS rounds): p99 via /dashboard vs the backend directly"
  added_latency "via aggregate" "http://127.0.0.1:$PORTICO_AGG_PORT/dashboard"
  kill "$agg_pid"; wait "$agg_pid" 2>/dev/null || true
  sleep 0.5
fi

if [ "${SKIP_GRAPHQL:-0}" != 1 ]; then
  # GraphQL (issue 17): a query whose three fields call three services at one level, against
  # one proxied request (bar: at most 3.5x the cost); the latency it adds at moderate load;
  # the calls an N+1-shaped query makes with and without batch.
  say ""
  say "## GraphQL: a query resolved by 3 parallel calls vs one proxied request (both Portico instances on CPU 0 at once, wrk -t1 -cN -d${DURATION}s each, $ROUNDS rounds)"
  start_proxy portico; plain_pid=$PROXY_PID
  start_proxy portico-graphql; gql_pid=$PROXY_PID
  wait_port $PORTICO_PORT; wait_port $PORTICO_GRAPHQL_PORT
  DASHBOARD='/graphql?query=%7Bdashboard%7Buser%7Bname%7Dorders%7Bname%7Dnotifications%7Bemail%7D%7D%7D'
  say "answer: $(curl -s "http://127.0.0.1:$PORTICO_GRAPHQL_PORT$DASHBOARD")"
  BASE_PID=$plain_pid OTHER_PID=$gql_pid OTHER_PATH=$DASHBOARD race_rounds "graphql(3 calls) / proxied" $PORTICO_PORT $PORTICO_GRAPHQL_PORT
  BASE_PID=$plain_pid OTHER_PID=$gql_pid OTHER_PATH=$DASHBOARD alone_rounds "graphql(3 calls) / proxied" $PORTICO_PORT $PORTICO_GRAPHQL_PORT
  kill "$plain_pid"; wait "$plain_pid" 2>/dev/null || true
  say "added latency at moderate load (wrk -t1 -c4 -d${DURATION}s, $ROUNDS rounds): p99 of the 3-call query vs one call to the backend directly"
  added_latency "3-call query" "http://127.0.0.1:$PORTICO_GRAPHQL_PORT$DASHBOARD"
  calls_for() {  # path -> the backend calls one request made
    local before after
    before=$(wc -l < "$WORK/graphql-calls.log" 2>/dev/null || echo 0)
    curl -s "http://127.0.0.1:$PORTICO_GRAPHQL_PORT$1" > "$WORK/gql-answer.json"
    sleep 0.2  # nginx writes its access log line after the answer
    after=$(wc -l < "$WORK/graphql-calls.log")
    echo $((after - before))
  }
  N1='%7Borders%7Bid%20product%7Bname%7D%7D%7D'
  batched=$(calls_for "/graphql?query=$N1")
  products=$(/usr/bin/python3 -c "import json; d=json.load(open('$WORK/gql-answer.json')); print(sum(1 for o in d['data']['orders'] if o['product']))")
  unbatched=$(calls_for "/graphql-unbatched?query=$N1")
  say "N+1 query (20 orders, each with its product): $batched backend calls with batch ($products products filled), $unbatched without"
  # Latency follows the slowest service: three calls answering after 10, 20 and 30 ms.
  taskset -c 1 /usr/bin/python3 bench/delay_backend.py $DELAY_BACKEND_PORT & delay_pid=$!; pids+=($delay_pid)
  wait_port $DELAY_BACKEND_PORT
  taskset -c 1 wrk -t1 -c4 -d"${DURATION}s" --latency "http://127.0.0.1:$DELAY_BACKEND_PORT/delay/30" > "$WORK/wrk-delay.txt"
  read -r _ slow50 slow99 < <(/usr/bin/python3 bench/parse_wrk.py "slowest service" < "$WORK/wrk-delay.txt")
  taskset -c 1 wrk -t1 -c4 -d"${DURATION}s" --latency \
    "http://127.0.0.1:$PORTICO_GRAPHQL_PORT/graphql-delayed?query=%7Bdashboard%7Buser%7Bwaited%7Dorders%7Bwaited%7Dnotifications%7Bwaited%7D%7D%7D" \
    > "$WORK/wrk-delayed-query.txt"
  read -r _ query50 query99 < <(/usr/bin/python3 bench/parse_wrk.py "delayed query" < "$WORK/wrk-delayed-query.txt")
  say "latency with services answering after 10, 20 and 30 ms (wrk -t1 -c4 -d${DURATION}s): the 30 ms service alone p50 $slow50 ms p99 $slow99 ms; the 3-call query p50 $query50 ms p99 $query99 ms"
  kill "$delay_pid"; wait "$delay_pid" 2>/dev/null || true
  kill "$gql_pid"; wait "$gql_pid" 2>/dev/null || true
  sleep 0.5
fi

# Login at the gateway (issue 18): an API route whose every request carries an openid-connect
# session cookie (opened, checked and turned into identity headers) against the same route
# without auth, both Portico instances on CPU 0 (bar: at least 0.93x).
if [ "${SKIP_OIDC:-0}" != 1 ]; then
  say ""
  say "## openid-connect: session cookie validated on every request vs no auth (both Portico instances on CPU 0 at once, then each alone, wrk -t1 -cN -d${DURATION}s each, $ROUNDS rounds; both sent the cookie)"
  start_proxy portico; plain_pid=$PROXY_PID
  start_proxy portico-oidc; oidc_pid=$PROXY_PID
  wait_port $PORTICO_PORT; wait_port $PORTICO_OIDC_PORT
  session_cookie=$(/usr/bin/python3 bench/oidc_session_cookie.py "a session secret of at least thirty-two characters")
  say "with the cookie: $(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: session=$session_cookie" "http://127.0.0.1:$PORTICO_OIDC_PORT/users/1"), without: $(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORTICO_OIDC_PORT/users/1") (cookie ${#session_cookie} characters)"
  WRK_HEADERS=("Cookie: session=$session_cookie")
  BASE_PID=$plain_pid OTHER_PID=$oidc_pid race_rounds "openid-connect session / no auth" $PORTICO_PORT $PORTICO_OIDC_PORT
  # Each alone on CPU 0 too: a race also makes the two share the core's caches, which costs the
  # one with the larger working set more than its own work (see alone_rounds).
  BASE_PID=$plain_pid OTHER_PID=$oidc_pid alone_rounds "openid-connect session / no auth" $PORTICO_PORT $PORTICO_OIDC_PORT
  WRK_HEADERS=()
  kill "$plain_pid" "$oidc_pid"; wait "$plain_pid" "$oidc_pid" 2>/dev/null || true
  sleep 0.5
  say ""
  say "## openid-connect: a full login round trip against oidc-provider 8 (bench/oidc_login.py, 200 logins one after the other)"
  /usr/bin/python3 bench/oidc_login.py "$BIN" 200 | tee -a "$OUT"
fi

# Transformations (issue 14): response-transformer removing one field from a 2 KB JSON body vs
# the same body proxied untouched, and header-only edits vs none; both Portico instances on CPU 0.
if [ "${SKIP_TRANSFORM:-0}" != 1 ]; then
  say ""
  say "## response-transformer: one JSON field removed from a 2 KB body, and header-only edits, vs none (both Portico instances on CPU 0 at once, wrk -t1 -cN -d${DURATION}s each, $ROUNDS rounds)"
  start_proxy portico; plain_pid=$PROXY_PID
  start_proxy portico-transform; transform_pid=$PROXY_PID
  wait_port $PORTICO_PORT; wait_port $PORTICO_TRANSFORM_PORT
  say "body bytes: untouched $(curl -s "http://127.0.0.1:$PORTICO_PORT/big" | wc -c), transformed $(curl -s "http://127.0.0.1:$PORTICO_TRANSFORM_PORT/big" | wc -c) (password_hash left: $(curl -s "http://127.0.0.1:$PORTICO_TRANSFORM_PORT/big" | grep -c password_hash))"
  BASE_PATH=/big OTHER_PATH=/big BASE_PID=$plain_pid OTHER_PID=$transform_pid \
    race_rounds "response-transformer json remove (2 KB) / none" $PORTICO_PORT $PORTICO_TRANSFORM_PORT
  BASE_PID=$plain_pid OTHER_PID=$transform_pid race_rounds "response-transformer headers only / none" $PORTICO_PORT $PORTICO_TRANSFORM_PORT
  kill "$plain_pid" "$transform_pid"; wait "$plain_pid" "$transform_pid" 2>/dev/null || true
  sleep 0.5
fi

# Compression (issue 14): /big (2 KB JSON) encoded per coding vs the same route unencoded, both
# Portico instances on CPU 0 at once, the same Accept-Encoding sent to both; then gzip against
# nginx's gzip filter at the same level. Bytes on the wire per answer (curl, body only) first.
# TLS (issue 15): Portico's ssl listener against nginx's, the same certificate and ciphers,
# both on CPU 0 at once: keep-alive requests over TLS 1.3, then a new connection (a full
# handshake) per request.
if [ "${SKIP_TLS:-0}" != 1 ]; then
  say ""
  say "## TLS: portico vs nginx, ECDSA P-256 certificate, TLS 1.3 (both on CPU 0 at once, wrk -t1 -cN -d${DURATION}s each, $ROUNDS rounds)"
  start_proxy nginx-tls; nginx_tls_pid=$PROXY_PID
  start_proxy portico-tls; portico_tls_pid=$PROXY_PID
  wait_port $NGINX_TLS_PORT; wait_port $PORTICO_TLS_PORT
  nginx_tls_worker=$(sleep 0.3; pgrep -P "$(cat "$WORK/nginx-tls.pid")" | head -1)
  say "protocols: nginx $(curl -sk -o /dev/null -w '%{http_version} ' https://127.0.0.1:$NGINX_TLS_PORT/users/1; \
    echo | openssl s_client -connect 127.0.0.1:$NGINX_TLS_PORT 2>/dev/null | grep -m1 -o 'TLSv1.[23]'), portico \
    $(echo | openssl s_client -connect 127.0.0.1:$PORTICO_TLS_PORT 2>/dev/null | grep -m1 -o 'TLSv1.[23]')"
  SCHEME=https BASE_PID=$nginx_tls_worker OTHER_PID=$portico_tls_pid \
    race_rounds "portico/nginx https keep-alive" $NGINX_TLS_PORT $PORTICO_TLS_PORT
  WRK_HEADERS=("Connection: close")
  SCHEME=https BASE_PID=$nginx_tls_worker OTHER_PID=$portico_tls_pid CONNECTIONS="${TLS_HANDSHAKE_CONNECTIONS:-16}" \
    race_rounds "portico/nginx https, a new handshake per request" $NGINX_TLS_PORT $PORTICO_TLS_PORT
  WRK_HEADERS=()
  # Handshake flood (issue 15): established keep-alive TLS connections (wrk -c16) measured
  # alone, then during a flood of new connections on the same worker: "resumed", a wrk making
  # a new connection per request (it resumes its TLS 1.3 session: PSK with ECDHE); "full", four
  # `openssl s_time -new` loops (a full handshake each, the server signing). The figure is how
  # much the flood stretches the established connections' tail.
  say ""
  say "### handshake flood: 16 established keep-alive TLS connections (wrk -t1 -c16 --latency, ${DURATION}s), alone and during a flood of new TLS connections"
  flood_case() {  # name port kind(resumed|full)
    local name=$1 port=$2 kind=$3 alone flooded flood_pids=() rate
    taskset -c 1 wrk -t1 -c16 -d2s "https://127.0.0.1:$port/users/1" >/dev/null
    alone=$(taskset -c 1 wrk -t1 -c16 -d"${DURATION}s" --latency "https://127.0.0.1:$port/users/1" | /usr/bin/python3 bench/parse_wrk.py "$name alone")
    if [ "$kind" = resumed ]; then
      taskset -c 1 wrk -t1 -c"${FLOOD_CONNECTIONS:-64}" -d"$((DURATION + 2))s" -H "Connection: close" "https://127.0.0.1:$port/users/1" > "$WORK/flood-0.txt" &
      flood_pids+=($!)
    else
      for i in 0 1 2 3; do
        taskset -c 1 openssl s_time -connect "127.0.0.1:$port" -new -time "$((DURATION + 2))" > "$WORK/flood-$i.txt" 2>&1 &
        flood_pids+=($!)
      done
    fi
    sleep 1
    flooded=$(taskset -c 1 wrk -t1 -c16 -d"${DURATION}s" --latency "https://127.0.0.1:$port/users/1" | /usr/bin/python3 bench/parse_wrk.py "$name flooded")
    wait "${flood_pids[@]}"
    if [ "$kind" = resumed ]; then
      rate=$(grep -o 'Requests/sec: *[0-9.]*' "$WORK/flood-0.txt" | awk '{print $2}')
    else
      rate=$(cat "$WORK"/flood-*.txt | grep -o '[0-9]* connections in [0-9]* real seconds' | awk '{n += $1; t = $4} END {if (t > 0) printf "%.0f", n / t; else print "?"}')
    fi
    read -r a_rps a_p50 a_p99 <<<"$alone"; read -r f_rps f_p50 f_p99 <<<"$flooded"
    say "$name, $kind handshakes: alone $a_rps req/s, p50 ${a_p50} ms, p99 ${a_p99} ms | during the flood $f_rps req/s, p50 ${f_p50} ms, p99 ${f_p99} ms | flood: ${rate} connections/s"
    rm -f "$WORK"/flood-*.txt
  }
  for kind in resumed full; do
    flood_case nginx $NGINX_TLS_PORT $kind
    flood_case portico $PORTICO_TLS_PORT $kind
  done
  kill "$portico_tls_pid" "$nginx_tls_pid"; wait "$portico_tls_pid" "$nginx_tls_pid" 2>/dev/null || true
fi

# HTTP/2 (issue 15): h2load against both proxies at once (pinned to CPU 1 with the backend),
# h2c with prior knowledge and h2 over TLS; each proxy serves HTTP/1.1 to the backend. Figures:
# requests/s of each h2load and CPU per request of each proxy process (user + sys from /proc).
if [ "${SKIP_HTTP2:-0}" != 1 ]; then
  say ""
  say "## HTTP/2: portico vs nginx, h2load -cN -mM (N clients, M streams each; both on CPU 0 at once, ${DURATION}s each, $ROUNDS rounds)"
  start_proxy nginx-h2; nginx_h2_pid=$PROXY_PID
  start_proxy portico-h2; portico_h2_pid=$PROXY_PID
  wait_port $NGINX_H2C_PORT; wait_port $NGINX_H2_PORT; wait_port $PORTICO_H2C_PORT; wait_port $PORTICO_H2_PORT
  nginx_h2_worker=$(sleep 0.3; pgrep -P "$(cat "$WORK/nginx-h2.pid")" | head -1)
  h2_rps() { grep -o 'finished in [0-9.]*s, [0-9.]* req/s' "$1" | awk '{print $4}'; }
  h2_race() {  # scheme nginx_port portico_port clients streams -> "n_rps p_rps n_cpu p_cpu"
    local n0 p0 n_rps p_rps
    n0=$(cpu_ticks "$nginx_h2_worker"); p0=$(cpu_ticks "$portico_h2_pid")
    taskset -c 1 h2load -c"$4" -m"$5" -D"$DURATION" "$1://127.0.0.1:$2/users/1" > "$WORK/h2-nginx.txt" 2>&1 &
    local h2_pid=$!
    taskset -c 1 h2load -c"$4" -m"$5" -D"$DURATION" "$1://127.0.0.1:$3/users/1" > "$WORK/h2-portico.txt" 2>&1
    wait $h2_pid
    n_rps=$(h2_rps "$WORK/h2-nginx.txt"); p_rps=$(h2_rps "$WORK/h2-portico.txt")
    /usr/bin/python3 -c "
hz=$(getconf CLK_TCK); d=$DURATION
print('$n_rps $p_rps %.2f %.2f' % (1e6*($(cpu_ticks "$nginx_h2_worker")-$n0)/hz/($n_rps*d), 1e6*($(cpu_ticks "$portico_h2_pid")-$p0)/hz/($p_rps*d)))"
  }
  for scheme in http https; do
    for shape in ${H2_SHAPES:-16:1 16:32 64:10 4:100}; do  # clients:streams (4:100 is the issue's bar)
      IFS=: read -r clients streams <<<"$shape"
      ratios=(); cpu=()
      for round in $(seq "$ROUNDS"); do
        read -r n_rps p_rps n_cpu p_cpu < <(h2_race $scheme \
          "$([ $scheme = http ] && echo $NGINX_H2C_PORT || echo $NGINX_H2_PORT)" \
          "$([ $scheme = http ] && echo $PORTICO_H2C_PORT || echo $PORTICO_H2_PORT)" "$clients" "$streams")
        echo "  raw h2 $scheme -c$clients -m$streams round $round: nginx $n_rps req/s cpu/req $n_cpu us, portico $p_rps req/s cpu/req $p_cpu us" >> "$OUT"
        ratios+=("$(ratio "$p_rps" "$n_rps")"); cpu+=("$(ratio "$n_cpu" "$p_cpu")")
      done
      say "$(printf -- '%-5s h2load -c%s -m%s, portico/nginx requests/s: %s (median %.3fx); CPU per request nginx/portico median %.3fx' \
        "$([ $scheme = http ] && echo h2c || echo h2)" "$clients" "$streams" "${ratios[*]}" "$(median "${ratios[@]}")" "$(median "${cpu[@]}")")"
    done
  done
  kill "$portico_h2_pid" "$nginx_h2_pid"; wait "$portico_h2_pid" "$nginx_h2_pid" 2>/dev/null || true
fi

# gRPC (issue 16): a unary call (GetUser of tests/e2e/protos/gateway/users.proto) sent by h2load
# straight to the service (bench/grpc_static_server: a fixed answer) and through Portico's grpc
# route, and the same call made by REST clients (GET /v1/users/7, h2c too) through grpc-gateway.
# Portico alone on CPU 0, the service and h2load on CPU 1, one after the other.
if [ "${SKIP_GRPC:-0}" != 1 ]; then
  say ""
  say "## gRPC: unary calls straight vs through portico, REST-to-gRPC (grpc-gateway) vs plain gRPC proxying (h2load -c${GRPC_CLIENTS:-16} -m${GRPC_STREAMS:-10}, ${DURATION}s each, $ROUNDS rounds)"
  /usr/bin/python3 - "$WORK" <<'PY'
import struct, sys
def varint(n):
    out = b""
    while True:
        b, n = n & 0x7F, n >> 7
        if not n:
            return out + bytes([b])
        out += bytes([b | 0x80])
def frame(m):
    return b"\x00" + struct.pack(">I", len(m)) + m
ts = b"\x08" + varint(1700000000)  # Timestamp{seconds}
user = b"\x08\x07" + b"\x12\x06user-7" + b"\x1a\x0d$2b$12$secret" + b"\x20\x01" + b"\x2a" + bytes([len(ts)]) + ts
open(sys.argv[1] + "/user.grpc", "wb").write(frame(user))        # User{id 7, name, password_hash, role, created_at}
open(sys.argv[1] + "/get-user.grpc", "wb").write(frame(b"\x08\x07"))  # GetUserRequest{id 7}
PY
  sed -e "s#@GRPC@#$GRPC_SERVICE_PORT#g" -e "s#@PROTO@#$ROOT/tests/e2e/protos/gateway/users.proto#g" bench/conf/kong-grpc.yml > "$WORK/kong-grpc.yml"
  taskset -c 1 "$ROOT/build/release/bench/grpc_static_server" $GRPC_SERVICE_PORT "$WORK/user.grpc" & grpc_service_pid=$!; pids+=($grpc_service_pid)
  taskset -c 0 "$BIN" run -c "$WORK/kong-grpc.yml" --proxy-listen "127.0.0.1:$PORTICO_GRPC_PORT http2" \
    --admin-listen off --workers 1 --access-log off --log-level warn & portico_grpc_pid=$!; pids+=($portico_grpc_pid)
  wait_port $GRPC_SERVICE_PORT; wait_port $PORTICO_GRPC_PORT
  rest_answer=$(curl -s --http2-prior-knowledge "http://127.0.0.1:$PORTICO_GRPC_PORT/v1/users/7")
  say "REST answer: $rest_answer"
  grpc_load() {  # port path [grpc] -> "rps cpu_us_per_request_of_portico" (the call's answers all 2xx)
    local t0 rps
    local args=(-c"${GRPC_CLIENTS:-16}" -m"${GRPC_STREAMS:-10}" -D"$DURATION")
    [ "${3:-}" = grpc ] && args+=(-d "$WORK/get-user.grpc" -H "content-type: application/grpc" -H "te: trailers")
    t0=$(cpu_ticks "$portico_grpc_pid")
    taskset -c 1 h2load "${args[@]}" "http://127.0.0.1:$1$2" > "$WORK/grpc-load.txt" 2>&1
    grep -q " 0 failed, 0 errored" "$WORK/grpc-load.txt" && grep -q " 0 3xx, 0 4xx, 0 5xx" "$WORK/grpc-load.txt" \
      || { echo "h2load reported failures on $2:" >&2; cat "$WORK/grpc-load.txt" >&2; exit 1; }
    rps=$(grep -o 'finished in [0-9.]*s, [0-9.]* req/s' "$WORK/grpc-load.txt" | awk '{print $4}')
    /usr/bin/python3 -c "print('$rps %.2f' % (1e6*($(cpu_ticks "$portico_grpc_pid")-$t0)/$(getconf CLK_TCK)/($rps*$DURATION)))"
  }
  direct=(); proxied=(); rest=(); proxied_cpu=(); rest_cpu=(); through=(); translation=()
  for round in $(seq "$ROUNDS"); do
    read -r d_rps _ < <(grpc_load $GRPC_SERVICE_PORT /portico.gw.Users/GetUser grpc)
    read -r p_rps p_cpu < <(grpc_load $PORTICO_GRPC_PORT /portico.gw.Users/GetUser grpc)
    read -r r_rps r_cpu < <(grpc_load $PORTICO_GRPC_PORT /v1/users/7)
    echo "  raw grpc round $round: direct $d_rps req/s; via portico $p_rps req/s, $p_cpu us CPU/req; REST $r_rps req/s, $r_cpu us CPU/req" >> "$OUT"
    direct+=("$d_rps"); proxied+=("$p_rps"); rest+=("$r_rps"); proxied_cpu+=("$p_cpu"); rest_cpu+=("$r_cpu")
    through+=("$(ratio "$p_rps" "$d_rps")"); translation+=("$(ratio "$r_cpu" "$p_cpu")")
  done
  say "$(printf 'unary gRPC straight to the service: median %.0f req/s; through portico: median %.0f req/s (through/straight %s, median %.3fx), portico CPU %.2f us/request' \
    "$(median "${direct[@]}")" "$(median "${proxied[@]}")" "${through[*]}" "$(median "${through[@]}")" "$(median "${proxied_cpu[@]}")")"
  say "$(printf 'REST-to-gRPC (grpc-gateway, GET /v1/users/7): median %.0f req/s, portico CPU %.2f us/request; CPU per request REST/plain gRPC: %s (median %.3fx; the bar: at most 1.25x)' \
    "$(median "${rest[@]}")" "$(median "${rest_cpu[@]}")" "${translation[*]}" "$(median "${translation[@]}")")"
  kill "$portico_grpc_pid" "$grpc_service_pid"; wait "$portico_grpc_pid" "$grpc_service_pid" 2>/dev/null || true
fi

if [ "${SKIP_COMPRESSION:-0}" != 1 ]; then
  say ""
  say "## compression: 2 KB JSON encoded per coding vs unencoded (both Portico instances on CPU 0 at once, wrk -t1 -cN -d${DURATION}s each, $ROUNDS rounds)"
  start_proxy portico; plain_pid=$PROXY_PID
  start_proxy portico-compress; compress_pid=$PROXY_PID
  wait_port $PORTICO_PORT; wait_port $PORTICO_COMPRESS_PORT
  plain_bytes=$(curl -s "http://127.0.0.1:$PORTICO_PORT/big" | wc -c)
  for coding in gzip br zstd; do
    coded_bytes=$(curl -s -H "Accept-Encoding: $coding" "http://127.0.0.1:$PORTICO_COMPRESS_PORT/big" | wc -c)
    decoded_ok=$(curl -s --compressed -H "Accept-Encoding: $coding" "http://127.0.0.1:$PORTICO_COMPRESS_PORT/big" | cmp -s - <(curl -s "http://127.0.0.1:$PORTICO_PORT/big") && echo yes || echo NO)
    say "$coding: body bytes $coded_bytes of $plain_bytes ($(/usr/bin/python3 -c "print('%.1f' % (100 - 100.0 * $coded_bytes / $plain_bytes))")% saved), decodes to the original: $decoded_ok"
  done
  for coding in gzip br zstd; do
    WRK_HEADERS=("Accept-Encoding: $coding")
    BASE_PATH=/big OTHER_PATH=/big BASE_PID=$plain_pid OTHER_PID=$compress_pid \
      race_rounds "compression $coding (2 KB JSON) / none" $PORTICO_PORT $PORTICO_COMPRESS_PORT
  done
  kill "$plain_pid"; wait "$plain_pid" 2>/dev/null || true
  start_proxy nginx-gzip; nginx_gzip_pid=$PROXY_PID
  wait_port $NGINX_GZIP_PORT
  sleep 0.3; nginx_gzip_worker=$(pgrep -P "$(cat "$WORK/nginx-gzip.pid")" | head -1)
  say "nginx gzip: body bytes $(curl -s -H "Accept-Encoding: gzip" "http://127.0.0.1:$NGINX_GZIP_PORT/big" | wc -c)"
  WRK_HEADERS=("Accept-Encoding: gzip")
  BASE_PATH=/big OTHER_PATH=/big BASE_PID=$nginx_gzip_worker OTHER_PID=$compress_pid \
    race_rounds "portico gzip / nginx gzip (2 KB JSON, level 6)" $NGINX_GZIP_PORT $PORTICO_COMPRESS_PORT
  WRK_HEADERS=()
  kill "$compress_pid" "$nginx_gzip_pid"; wait "$compress_pid" "$nginx_gzip_pid" 2>/dev/null || true
  sleep 0.5
fi

# Observability (issue 13): the same route with prometheus (every family), opentelemetry and
# the access log written to a file vs the route with none of them, both Portico instances on
# CPU 0 at once; opentelemetry samples 1% (the issue's target), then every request (reported).
if [ "${SKIP_OBSERVABILITY:-0}" != 1 ]; then
  spans_sent() { curl -s "http://127.0.0.1:$1/status" | sed -n 's/.*"opentelemetry_spans_sent":\([0-9]*\).*/\1/p'; }
  for variant in ${OBS_VARIANTS:-portico-obs-notrace portico-obs portico-obs-all}; do
    case $variant in
      portico-obs-notrace) port=$PORTICO_OBS_NOTRACE_PORT; what="no tracing"; log="$WORK/obs-notrace-access.log" ;;
      portico-obs) port=$PORTICO_OBS_PORT; what="opentelemetry sampling 0.01"; log="$WORK/obs-access.log" ;;
      portico-obs-all) port=$PORTICO_OBS_ALL_PORT; what="opentelemetry sampling 1.0"; log="$WORK/obs-all-access.log" ;;
    esac
    say ""
    say "## observability: prometheus (all metrics) + access log to a file + $what vs none (both Portico instances on CPU 0 at once, wrk -t1 -cN -d${DURATION}s each, $ROUNDS rounds)"
    start_proxy portico; plain_pid=$PROXY_PID
    start_proxy $variant; obs_pid=$PROXY_PID
    wait_port $PORTICO_PORT; wait_port $port
    BASE_PID=$plain_pid OTHER_PID=$obs_pid race_rounds "observability ($what) / none" $PORTICO_PORT $port
    sleep 2  # the last spans' batch
    say "access log lines written: $(wc -l < "$log"); requests counted by /metrics: $(curl -s "http://127.0.0.1:$((port + 100))/metrics" | awk '/^kong_http_requests_total/ {s += $NF} END {print s}'); spans exported: $(spans_sent $((port + 100)) || true)"
    kill "$plain_pid" "$obs_pid"; wait "$plain_pid" "$obs_pid" 2>/dev/null || true
    sleep 0.5
  done
fi

# Slowloris (the hardening issue): other clients' latency while N connections each send a
# request head a byte at a time (bench/slowloris.py, from 4 source addresses). Each proxy with
# its defaults (Portico's client header timeout bounds the whole head, as nginx's).
if [ "${SKIP_SLOWLORIS:-0}" != 1 ]; then
  slow_n=${SLOWLORIS_CONNECTIONS:-10000}
  say ""
  say "## slowloris: wrk -t1 -c16 -d${DURATION}s alone, then during $slow_n connections sending a head a byte every 5 s"
  for name in portico nginx; do
    start_proxy $name
    port=$(port_of $name)
    wait_port "$port"
    taskset -c 1 wrk -t1 -c16 -d2s "http://127.0.0.1:$port/users/1" >/dev/null
    alone=$(taskset -c 1 wrk -t1 -c16 -d"${DURATION}s" --latency "http://127.0.0.1:$port/users/1" | /usr/bin/python3 bench/parse_wrk.py "$name alone")
    taskset -c 1 /usr/bin/python3 bench/slowloris.py --port "$port" --connections "$slow_n" --interval 5 \
      --duration $((DURATION + 12)) > "$WORK/slowloris.txt" &
    slow_pid=$!
    sleep 8  # every connection open and past its request line
    during=$(taskset -c 1 wrk -t1 -c16 -d"${DURATION}s" --latency "http://127.0.0.1:$port/users/1" | /usr/bin/python3 bench/parse_wrk.py "$name slowloris")
    open=$(ss -Htn state established "( sport = :$port )" | wc -l)
    wait "$slow_pid"
    read -r a_rps a_p50 a_p99 <<<"$alone"; read -r d_rps d_p50 d_p99 <<<"$during"
    say "$name: alone $a_rps req/s, p50 ${a_p50} ms, p99 ${a_p99} ms | during $d_rps req/s, p50 ${d_p50} ms, p99 ${d_p99} ms (p99 x$(awk -v a="$a_p99" -v d="$d_p99" 'BEGIN {printf "%.2f", d / a}')) | $open connections open to it meanwhile | $(cat "$WORK/slowloris.txt")"
    kill "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true
    sleep 1
  done
fi

if [ "${SKIP_IDLE:-0}" != 1 ]; then
  say ""
  say "## memory per idle keep-alive connection (10,000 connections, one request each, then idle; then 100,000)"
  for name in portico nginx; do
    start_proxy $name
    wait_port "$(port_of $name)"
    pid=$(worker_pid $name)
    say "$name: $(/usr/bin/python3 bench/idle_connections.py --port "$(port_of $name)" --pid "$pid" --count 10000)"
    kill "$PROXY_PID"; wait "$PROXY_PID" 2>/dev/null || true
    sleep 0.5
  done
  # 100,000 (the hardening issue): from four source addresses, with the file limit raised to
  # allow it; where the hard limit cannot be raised (no CAP_SYS_RESOURCE), as many as it allows.
  ulimit -n 250000 2>/dev/null || true
  many=$(( $(ulimit -n) - 1000 < 100000 ? $(ulimit -n) - 1000 : 100000 ))
  (
    taskset -c 0 "$BIN" run -c "$WORK/kong.yml" --proxy-listen 127.0.0.1:$PORTICO_PORT --admin-listen off --workers 1 \
      --access-log off --log-level warn --max-connections-per-worker 120000 &
    pid=$!
    wait_port $PORTICO_PORT
    say "portico, $many connections (file limit $(ulimit -n)): $(/usr/bin/python3 bench/idle_connections.py --port $PORTICO_PORT --pid $pid --count $many --source-ips 4)"
    kill "$pid"; wait "$pid" 2>/dev/null || true
  )
fi

if [ "${SKIP_CALLGRIND:-0}" != 1 ]; then
  say ""
  say "## instructions per proxied request (valgrind --tool=callgrind, keep-alive, sequential requests)"
  for name in ${CALLGRIND_CASES:-portico portico-admin portico3 portico-auth portico-cache portico-agg portico-graphql portico-obs portico-transform-headers \
               portico-big portico-transform-json portico-gzip portico-br portico-zstd nginx nginx-cache nginx-big nginx-gzip}; do
    say "$name: $(bench/callgrind_per_request.sh $name "$WORK" $BACKEND_PORT)"
  done
  say "(portico-admin: the plain route with the admin listener on (the dashboard's recording); portico3: the same route balanced round-robin over three targets; portico-auth: key-auth + jwt HS256 + acl;"
  say " portico-cache / nginx-cache: proxy-cache / proxy_cache hits; portico-agg: /dashboard, 3 backend calls composed;"
  say " portico-graphql: { dashboard { user orders notifications } }, the same 3 calls through the graphql plugin;"
  say " portico-obs: prometheus (every family) + opentelemetry (sampling 0.01) + access log to a file;"
  say " portico-transform-headers: response-transformer header-only edits; portico-big: /big (2 KB JSON) untouched;"
  say " portico-transform-json: /big with one field removed; portico-gzip/br/zstd: /big encoded by the compression plugin;"
  say " nginx-big / nginx-gzip: /big through nginx, untouched / gzip level 6)"
fi

if [ "${SKIP_ADMIN:-0}" != 1 ]; then
  say ""
  say "## Admin API: one route added to 10,000 services + routes (bench/admin_write_bench.py)"
  /usr/bin/python3 bench/admin_write_bench.py --portico "$ROOT/build/release/portico" --services 10000 --writes 20 | tee -a "$OUT"
fi

if [ "${SKIP_MICRO:-0}" != 1 ]; then
  say ""
  say "## microbenchmarks"
  "$ROOT/build/release/bench/portico_microbench" --benchmark_min_time=0.2 2>/dev/null | grep -E "^(BM_|Benchmark)" | tee -a "$OUT"
fi
echo "results written to $OUT"
