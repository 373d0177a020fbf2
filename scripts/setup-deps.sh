#!/usr/bin/env bash
# Installs every Debian package that Portico's build, tests, demo and benchmarks need.
# Idempotent: when everything is present it prints nothing and exits 0.
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake ninja-build ccache pkg-config
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev
  libssl-dev libyaml-cpp-dev libre2-dev libspdlog-dev libfmt-dev libcli11-dev
  libmimalloc-dev libc-ares-dev libsqlite3-dev libhiredis-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # fuzzing (libFuzzer targets built with clang, tests/fuzz/run.sh)
  clang libclang-rt-14-dev
  # tests, demo and benchmarks
  curl wrk nginx-light haproxy nghttp2-client valgrind procps iproute2 redis-server
  python3 python3-pytest python3-jwt python3-cryptography openssl
  # observability tests: a real Prometheus server and promtool
  prometheus
)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "setup-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# nginx-light and haproxy are used only as benchmark peers started by hand, redis-server and
# prometheus only by the tests that start their own; the packages' own system services are not
# wanted here.
for svc in nginx haproxy redis-server prometheus; do
  if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true; fi
  $SUDO service "$svc" stop >/dev/null 2>&1 || true
done
echo "setup-deps: done"
