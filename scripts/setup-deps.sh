#!/usr/bin/env bash
# Installs every Debian package that Portico's build, tests, demo and benchmarks need, and the
# npm packages of the tests' Node.js services (pinned by their package-lock.json).
# Idempotent: when everything is present it prints nothing and exits 0.
set -euo pipefail
cd "$(dirname "$0")/.."

# The dashboard's one library (uPlot, built into the binary) and the tests' Node.js packages (the
# OpenTelemetry JS SDK; graphql-js, the GraphQL oracle; oidc-provider, the OpenID Provider of the
# openid-connect tests; puppeteer-core, which drives Debian's chromium and downloads no browser,
# in the login and dashboard tests): `npm ci` from the lock file, again whenever the lock file
# changed since the last install.
install_node_packages() {
  local dir
  for dir in dashboard tests/e2e/otel_backend tests/graphql tests/e2e/oidc_idp tests/e2e/dashboard; do
    if [ ! -f "$dir/node_modules/.package-lock.json" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
      echo "setup-deps: npm ci in $dir"
      (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    fi
  done
}

PACKAGES=(
  # build
  build-essential cmake ninja-build ccache pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev zlib1g-dev libbrotli-dev libzstd-dev libyaml-cpp-dev libre2-dev libspdlog-dev libfmt-dev libcli11-dev
  libmimalloc-dev libc-ares-dev libsqlite3-dev libpq-dev libhiredis-dev libnghttp2-dev
  # grpc-gateway: libprotobuf's .proto compiler (its headers are libprotoc-dev's) and JSON mapping; the google/api (HTTP
  # annotations) and google/rpc protos come with Debian's grpc-gateway sources
  libprotobuf-dev libprotoc-dev golang-github-grpc-ecosystem-grpc-gateway-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # fuzzing (libFuzzer targets built with clang, tests/fuzz/run.sh)
  clang libclang-rt-14-dev
  # tests, demo and benchmarks
  curl wrk nginx-light haproxy nghttp2-client valgrind procps iproute2 redis-server
  # the cluster tests: PostgreSQL 15 (initdb and pg_ctl in /usr/lib/postgresql/15/bin, run by the tests themselves)
  postgresql
  python3 python3-pytest python3-jwt python3-cryptography openssl
  # headless browser of the login and dashboard tests
  chromium
  # WebSocket tests (both ends) and the hostile HTTP/2 clients
  python3-websockets python3-h2
  # gRPC tests: real gRPC clients and services, stubs generated from the tests' .proto files
  python3-grpcio python3-grpc-tools grpc-proto
  # decoders of the compression plugin's answers in its tests (gzip is in python itself)
  python3-brotli python3-zstandard
  # observability tests: a real Prometheus server and promtool; Node.js for a service
  # instrumented with the OpenTelemetry JS SDK
  prometheus nodejs
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

# Debian's own nodejs package ships npm separately (NodeSource's includes it).
if dpkg-query -W -f='${Status}' nodejs 2>/dev/null | grep -q "install ok installed" && ! command -v npm >/dev/null 2>&1; then
  missing+=(npm)
fi

if [ ${#missing[@]} -eq 0 ]; then
  install_node_packages
  exit 0
fi

echo "setup-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# nginx-light and haproxy are used only as benchmark peers started by hand, redis-server,
# prometheus and postgresql only by the tests that start their own; the packages' own system
# services are not wanted here.
for svc in nginx haproxy redis-server prometheus postgresql; do
  if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true; fi
  $SUDO service "$svc" stop >/dev/null 2>&1 || true
done
if ! command -v npm >/dev/null 2>&1; then
  $SUDO apt-get install -y -qq --no-install-recommends npm >/dev/null
fi
install_node_packages
echo "setup-deps: done"
