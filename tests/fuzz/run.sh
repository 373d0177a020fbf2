#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan + fuzzer) into BUILD_DIR/fuzz and runs
# each for SECONDS (default 30) from its seed corpus (grown in BUILD_DIR/fuzz/corpus-TARGET, kept
# from run to run). A crash, leak or sanitizer report fails. Ends with a line per target:
# executions, edges covered. `make test` runs it briefly, `make fuzz` for FUZZ_SECONDS each.
# Usage: tests/fuzz/run.sh BUILD_DIR [SECONDS]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$1/fuzz
SECONDS_EACH=${2:-30}
mkdir -p "$OUT"
CXX=${FUZZ_CXX:-clang++}
# (-fno-sanitize=function: clang 14 cannot assemble a coroutine with that check, "Cannot represent
# a difference across sections"; the GraphQL executor is one)
FLAGS=(-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize=function -fno-sanitize-recover=undefined
       -I"$ROOT/src" -I"$ROOT" -DBOOST_JSON_NO_LIB -DBOOST_JSON_DYN_LINK -DPORTICO_VERSION=\"fuzz\")

build() {  # name sources...
  local name=$1; shift
  local bin=$OUT/$name
  local newest
  # (a "-lname" among the sources is a library, not a file: ls looks at this script instead)
  newest=$(ls -t "${@/#-l*/$0}" "$ROOT"/src/admin/*.hpp "$ROOT"/src/schema/*.hpp "$ROOT"/src/http/*.hpp \
    "$ROOT"/src/core/error.hpp "$ROOT"/src/obs/*.hpp "$ROOT"/plugins/proxy-cache/*.hpp "$ROOT"/plugins/aggregate/*.hpp "$ROOT"/src/plugin/calls/*.hpp "$ROOT"/src/json/*.hpp \
    "$ROOT"/plugins/grpc-gateway/*.hpp "$ROOT"/src/graphql/*.hpp "$0" | head -1)
  if [ ! -x "$bin" ] || [ "$newest" -nt "$bin" ]; then
    "$CXX" "${FLAGS[@]}" "$@" -o "$bin" -lboost_json
  fi
}

build admin_body_fuzz "$ROOT/tests/fuzz/admin_body_fuzz.cpp" "$ROOT/src/admin/body_readers.cpp" \
  "$ROOT/src/admin/kong_errors.cpp" "$ROOT/src/schema/record.cpp" "$ROOT/src/http/params.cpp"

build cache_headers_fuzz "$ROOT/tests/fuzz/cache_headers_fuzz.cpp" "$ROOT/src/http/caching.cpp" \
  "$ROOT/plugins/proxy-cache/cache_key.cpp" "$ROOT/src/http/params.cpp" "$ROOT/src/crypto/digest.cpp" -lcrypto
build entry_codec_fuzz "$ROOT/tests/fuzz/entry_codec_fuzz.cpp" "$ROOT/plugins/proxy-cache/entry_codec.cpp"
build aggregate_fuzz "$ROOT/tests/fuzz/aggregate_fuzz.cpp" "$ROOT/src/plugin/calls/template.cpp" \
  "$ROOT/src/plugin/calls/pointer.cpp" "$ROOT/plugins/aggregate/shape.cpp" "$ROOT/src/http/status.cpp" "$ROOT/src/http/params.cpp"

build h1_parser_fuzz "$ROOT/tests/fuzz/h1_parser_fuzz.cpp" "$ROOT/src/http/h1_parser.cpp" "$ROOT/src/http/chunked.cpp"

build trace_context_fuzz "$ROOT/tests/fuzz/trace_context_fuzz.cpp" "$ROOT/src/obs/trace_context.cpp" \
  "$ROOT/src/http/h1_parser.cpp" "$ROOT/src/crypto/digest.cpp" -lcrypto

build json_edit_fuzz "$ROOT/tests/fuzz/json_edit_fuzz.cpp" "$ROOT/src/json/json_document.cpp" \
  "$ROOT/src/json/json_edits.cpp" "$ROOT/src/http/status.cpp"

build grpc_gateway_fuzz "$ROOT/tests/fuzz/grpc_gateway_fuzz.cpp" "$ROOT/plugins/grpc-gateway/path_template.cpp" \
  "$ROOT/plugins/grpc-gateway/proto_api.cpp" "$ROOT/plugins/grpc-gateway/transcode.cpp" "$ROOT/src/http/params.cpp" \
  "$ROOT/src/crypto/base64.cpp" -lprotobuf

GRAPHQL=("$ROOT"/src/graphql/{lexer,parser,error,text,values,schema,schema_rules,prelude}.cpp)
build graphql_parser_fuzz "$ROOT/tests/fuzz/graphql_parser_fuzz.cpp" "${GRAPHQL[@]}" -lfmt
build graphql_validator_fuzz "$ROOT/tests/fuzz/graphql_validator_fuzz.cpp" "${GRAPHQL[@]}" \
  "$ROOT"/src/graphql/{validation,validation_overlap,executor,introspection}.cpp -lfmt

summary=()
for target in admin_body_fuzz cache_headers_fuzz entry_codec_fuzz aggregate_fuzz h1_parser_fuzz trace_context_fuzz json_edit_fuzz grpc_gateway_fuzz \
    graphql_parser_fuzz graphql_validator_fuzz; do
  corpus=$OUT/corpus-$target
  mkdir -p "$corpus"
  cp -n "$ROOT/tests/fuzz/corpus/${target%_fuzz}"/* "$corpus"/ 2>/dev/null || true
  # the GraphQL parser also reads SDL: the differential test's schemas seed it
  [ "$target" != graphql_parser_fuzz ] || cp -n "$ROOT"/tests/graphql/schemas/*.graphql "$corpus"/
  echo "fuzz: $target for ${SECONDS_EACH}s"
  log=$OUT/$target.log
  if ! "$OUT/$target" -max_total_time="$SECONDS_EACH" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$OUT/$target-" -print_final_stats=1 "$corpus" > "$log" 2>&1; then
    cat "$log"
    echo "fuzz: $target failed; the input is saved as $OUT/$target-*" >&2
    exit 1
  fi
  tail -6 "$log"
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || echo "?")
  summary+=("$(printf '%-24s %12s executions  %6s edges covered  0 crashes' "$target" "$execs" "$cov")")
done
echo "fuzz: ${SECONDS_EACH}s per target"
printf '%s\n' "${summary[@]}"
