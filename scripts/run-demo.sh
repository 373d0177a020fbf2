#!/usr/bin/env bash
# Starts the demo backends and Portico with examples/kong.yml imported into a fresh embedded
# store (build/demo-data), so that the Admin API can change it live, and a second Portico node
# serving the Backend-for-Frontend example (examples/bff.yml, DB-less); prints what to try, and
# stops everything on Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."

PROXY=${PORTICO_DEMO_PROXY:-127.0.0.1:8000}
PROXY_TLS=${PORTICO_DEMO_PROXY_TLS:-127.0.0.1:8443}
ADMIN=${PORTICO_DEMO_ADMIN:-127.0.0.1:8001}
BFF=${PORTICO_DEMO_BFF:-127.0.0.1:8010}
BFF_ADMIN=${PORTICO_DEMO_BFF_ADMIN:-127.0.0.1:8011}
pids=()
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  echo "demo stopped"
}
trap cleanup INT TERM EXIT

/usr/bin/python3 examples/backends/demo_services.py &
pids+=($!)
for port in 9101 9102 9103 9104 9105 9106; do
  for _ in $(seq 50); do
    (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break
    sleep 0.1
  done
done

DATA=build/demo-data
rm -rf "$DATA"
./build/release/portico config --data-dir "$DATA" db_import examples/kong.yml
# Plain and TLS listeners side by side (TLS with the self-signed certificate made at start),
# both speaking HTTP/2 too (h2c with prior knowledge on the plain one).
./build/release/portico run --data-dir "$DATA" --proxy-listen "$PROXY http2" --proxy-listen "$PROXY_TLS http2 ssl" \
  --admin-listen "$ADMIN" &
pids+=($!)
# The BFF node: one request fans out to the services and comes back shaped per client.
./build/release/portico run -c examples/bff.yml --proxy-listen "$BFF" --admin-listen "$BFF_ADMIN" --access-log off &
pids+=($!)
for listener in "$PROXY" "$BFF"; do
  for _ in $(seq 50); do
    (exec 3<>/dev/tcp/${listener%:*}/${listener##*:}) 2>/dev/null && break
    sleep 0.1
  done
done

cat <<MSG

Portico is running: proxy on http://$PROXY and https://$PROXY_TLS, admin API on http://$ADMIN
The dashboard (traffic per route live, entities, health): open http://$ADMIN/dashboard/ in a browser.
Try:
  curl -i http://$PROXY/users/1
  curl -ik https://$PROXY_TLS/users/1                   # TLS (self-signed certificate: -k)
  curl -i -H 'X-Version: v2' http://$PROXY/users/1       # A/B routing to users v2
  curl -i http://$PROXY/orders
  curl -i -X POST -H 'Content-Type: application/json' -d '{"user_id":1}' http://$PROXY/orders
  curl -i http://$PROXY/products/101                     # cached: X-Cache-Status Miss, then Hit
  curl -s -X POST http://$ADMIN/cache/purge/products/101  # purge it: the next one is a Miss
  curl -i http://$PROXY/notifications                    # 401: key-auth wants an API key
  curl -i -H 'apikey: demo-mobile-key' http://$PROXY/notifications   # key-auth + acl: 200, rate limited (X-RateLimit-*)
  curl -i http://$PROXY/payments/pay_1                   # 401: jwt wants a Bearer token
  TOKEN=\$(/usr/bin/python3 -c 'import jwt,time; print(jwt.encode({"iss":"web-app","sub":"user-1","exp":int(time.time())+3600},"demo-web-secret"))')
  curl -i -H "Authorization: Bearer \$TOKEN" http://$PROXY/payments/pay_1   # 200; the service gets X-User-ID
  curl -i http://$PROXY/nowhere                          # 404 with Kong's JSON body
  curl -s http://$ADMIN/status
  curl -s http://$ADMIN/upstreams/orders-upstream/health  # targets' health as Portico sees it
The Backend-for-Frontend node (examples/bff.yml) on http://$BFF: one call, four services, shaped per client:
  curl -s -H 'Host: m.example.com' 'http://$BFF/dashboard?user_id=1'   # mobile: {"user":{"id","name"},"unread_count":1}
  curl -s -H 'X-Client: mobile' 'http://$BFF/dashboard?user_id=2'      # the same, chosen by a header
  curl -s 'http://$BFF/dashboard?user_id=1'                            # web: full user, activity, recommendations
  curl -i 'http://$BFF/dashboard'                                      # 400: names the missing {query.user_id}
The same clients as GraphQL BFFs (examples/mobile-bff.graphql, examples/web-bff.graphql), resolved by Portico:
  curl -s http://$BFF/mobile/graphql -H 'Content-Type: application/json' -d '{"query":"{ dashboard(userId: 1) { user { id name } unreadCount } }"}'
  curl -s http://$BFF/web/graphql -H 'Content-Type: application/graphql' -d '{ user(id: 1) { name plan orders { status items { quantity product { name } } } recommendations { name } } }'
  curl -s 'http://$BFF/web/graphql?query=%7B%20products%20%7B%20nam%20%7D%20%7D'   # 400: Cannot query field "nam" on type "Product". Did you mean "name"?
A live change through the Admin API (Kong's calls; stored in $DATA, kept across restarts):
  curl -s -X POST http://$ADMIN/services --data name=catalog --data url=http://127.0.0.1:9104/products
  curl -s -X POST http://$ADMIN/services/catalog/routes --data 'paths[]=/catalog'
  curl -i http://$PROXY/catalog/101                      # 200 at once: the products service
  curl -s http://$ADMIN/services/catalog/routes           # what is stored
Press Ctrl-C to stop.

MSG
wait
