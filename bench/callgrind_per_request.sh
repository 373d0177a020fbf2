#!/usr/bin/env bash
# Instructions per proxied request for portico or nginx, measured with callgrind as the
# difference between a run of N2 and a run of N1 sequential keep-alive requests (this
# cancels start-up and shutdown). Usage: callgrind_per_request.sh portico|portico3|nginx WORKDIR BACKEND_PORT
# (portico3: the same route balanced over three targets, bench/conf/kong-3targets.yml;
#  portico-auth: key-auth + jwt HS256 + acl on the route, bench/auth_config.py, the same token each time;
#  portico-oidc: the openid-connect plugin validating the same session cookie each time, bench/conf/kong-oidc.yml;
#  portico-cache, nginx-cache: cache hits, bench/conf/kong-cache.yml and proxy-nginx-cache.conf;
#  portico-agg: GET /dashboard, three backend calls composed, bench/conf/kong-aggregate.yml;
#  portico-graphql: GET /graphql?query={dashboard{...}}, the same three calls through the graphql plugin,
#  bench/conf/kong-graphql.yml;
#  portico-admin: the plain route with the admin listener on (the dashboard's per-route recording, which
#  --admin-listen off leaves out, as every other case here does);
#  portico-obs: prometheus with every family, opentelemetry sampling 0.01 (SAMPLING=...) and the access log to a
#  file, bench/conf/kong-observability.yml;
#  portico-big: GET /big (2 KB JSON) through the plain route; portico-gzip, portico-br, portico-zstd: the same
#  answer encoded by the compression plugin, bench/conf/kong-compression.yml;
#  portico-transform-json, portico-transform-headers: response-transformer removing one field of /big, and
#  header-only edits on /users/1, bench/conf/kong-transform.yml; nginx-big, nginx-gzip: /big through nginx, and
#  encoded by its gzip filter, bench/conf/proxy-nginx-gzip.conf)
set -euo pipefail
name=$1; work=$2; backend=$3
ROOT=$(cd "$(dirname "$0")/.." && pwd)
port=19590
N1=2000; N2=12000
request_args=(--path /users/1)
if [ "$name" = portico-auth ]; then
  /usr/bin/python3 "$ROOT/bench/auth_config.py" --backend "$backend" --config "$work/cg-kong-auth.yml" --tokens "$work/cg-tokens.env"
  # shellcheck disable=SC1091
  source "$work/cg-tokens.env"
  request_args=(--path /auth/users/1 --header "apikey: $BENCH_KEY" --header "Authorization: Bearer $HS256_TOKEN")
fi
[ "$name" = portico-agg ] && request_args=(--path /dashboard)
if [ "$name" = portico-oidc ]; then
  request_args=(--path /users/1 --header "Cookie: session=$(/usr/bin/python3 "$ROOT/bench/oidc_session_cookie.py" "a session secret of at least thirty-two characters")")
fi
[ "$name" = portico-graphql ] && request_args=(--path '/graphql?query=%7Bdashboard%7Buser%7Bname%7Dorders%7Bname%7Dnotifications%7Bemail%7D%7D%7D')
case $name in
  portico-big|portico-transform-json) request_args=(--path /big) ;;
  portico-gzip|portico-br|portico-zstd) request_args=(--path /big --header "Accept-Encoding: ${name#portico-}") ;;
  nginx-big) request_args=(--path /big) ;;
  nginx-gzip) request_args=(--path /big --header "Accept-Encoding: gzip") ;;
esac
total_ir() {  # requests -> total instructions
  local n=$1
  local out=$work/callgrind.$name.$n
  case $name in
    portico|portico-admin|portico3|portico-auth|portico-cache|portico-agg|portico-graphql|portico-obs|portico-oidc|portico-big|portico-gzip|portico-br|portico-zstd|portico-transform-*)
      conf=kong.yml; [ "$name" = portico3 ] && conf=kong-3targets.yml; [ "$name" = portico-cache ] && conf=kong-cache.yml
      case $name in portico-gzip|portico-br|portico-zstd) conf=kong-compression.yml ;; portico-transform-*) conf=kong-transform.yml ;; esac
      [ "$name" = portico-agg ] && conf=kong-aggregate.yml
      [ "$name" = portico-oidc ] && conf=kong-oidc.yml
      [ "$name" = portico-graphql ] && conf=kong-graphql.yml
      access_log=off; [ "$name" = portico-obs ] && conf=kong-observability.yml && access_log=$work/cg-access.log
      sed -e "s#@BACKEND@#$backend#g" -e "s#@DELAYED@#19526#g" -e "s#@SAMPLING@#${SAMPLING:-0.01}#g" "$ROOT/bench/conf/$conf" > "$work/cg-kong.yml"
      [ "$name" = portico-auth ] && cp "$work/cg-kong-auth.yml" "$work/cg-kong.yml"
      admin=off; [ "$name" = portico-admin ] && admin=127.0.0.1:$((port + 1))
      valgrind --tool=callgrind --callgrind-out-file="$out" "$ROOT/build/release/portico" run -c "$work/cg-kong.yml" \
        --proxy-listen 127.0.0.1:$port --admin-listen $admin --workers 1 --access-log "$access_log" --log-level warn 2>/dev/null &
      ;;
    nginx|nginx-cache|nginx-big|nginx-gzip)
      conf=proxy-nginx.conf; [ "$name" = nginx-cache ] && conf=proxy-nginx-cache.conf; [ "$name" = nginx-gzip ] && conf=proxy-nginx-gzip.conf
      sed -e "s#@WORK@#$work#g" -e "s#@PORT@#$port#g" -e "s#@BACKEND@#$backend#g" "$ROOT/bench/conf/$conf" \
        | sed -e "s#^daemon off;#daemon off;\nmaster_process off;#" -e "s#nginx-proxy.pid#cg-nginx.pid#" \
              -e "s#nginx-cache.pid#cg-nginx.pid#" -e "s#nginx-gzip.pid#cg-nginx.pid#" -e "s#nginx-cache levels#cg-nginx-cache levels#" > "$work/cg-nginx.conf"
      valgrind --tool=callgrind --callgrind-out-file="$out" nginx -c "$work/cg-nginx.conf" -p "$work" 2>/dev/null &
      ;;
  esac
  local pid=$!
  for _ in $(seq 200); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
  /usr/bin/python3 "$ROOT/bench/sequential_requests.py" --port $port --count "$n" "${request_args[@]}"
  if [ "${name#nginx}" != "$name" ]; then kill -QUIT $pid; else kill -TERM $pid; fi
  wait $pid 2>/dev/null || true
  grep -E "^(summary|totals):" "$out" | head -1 | awk '{print $2}'
}
a=$(total_ir $N1); b=$(total_ir $N2)
/usr/bin/python3 -c "print('%.0f instructions per request (%d requests: %d Ir, %d requests: %d Ir)' % (($b-$a)/($N2-$N1), $N1, $a, $N2, $b))"
