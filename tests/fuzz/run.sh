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
# (through ccache when there is one: a clean checkout then rebuilds the targets from its cache)
CXX=${FUZZ_CXX:-$(command -v ccache >/dev/null && echo "ccache clang++" || echo clang++)}
# (-fno-sanitize=function: clang 14 cannot assemble a coroutine with that check, "Cannot represent
# a difference across sections"; the GraphQL executor is one)
FLAGS=(-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize=function -fno-sanitize-recover=undefined
       -I"$ROOT/src" -I"$ROOT" -DBOOST_JSON_NO_LIB -DBOOST_JSON_DYN_LINK -DPORTICO_VERSION=\"fuzz\"
       -DSPDLOG_COMPILED_LIB -DSPDLOG_FMT_EXTERNAL -DSPDLOG_SHARED_LIB -DFMT_SHARED -DPORTICO_SOURCE_DIR=\"$ROOT\")

build() {  # name sources...
  local name=$1; shift
  local bin=$OUT/$name
  local newest
  # (a "-lname" among the sources is a library, not a file: ls looks at this script instead)
  newest=$(ls -t "${@/#-l*/$0}" "$ROOT"/src/admin/*.hpp "$ROOT"/src/schema/*.hpp "$ROOT"/src/http/*.hpp \
    "$ROOT"/src/core/*.hpp "$ROOT"/src/obs/*.hpp "$ROOT"/plugins/proxy-cache/*.hpp "$ROOT"/plugins/aggregate/*.hpp "$ROOT"/src/plugin/calls/*.hpp "$ROOT"/src/json/*.hpp \
    "$ROOT"/plugins/grpc-gateway/*.hpp "$ROOT"/src/graphql/*.hpp "$ROOT"/src/router/*.hpp "$ROOT"/src/config/*.hpp \
    "$ROOT"/src/crypto/*.hpp "$ROOT"/plugins/jwt/*.hpp "$ROOT"/plugins/openid-connect/*.hpp "$ROOT"/tests/fuzz/*.hpp \
    "$ROOT"/src/proxy/*.hpp "$ROOT"/src/net/*.hpp "$0" | head -1) \
    || true  # (head's early exit may end ls with SIGPIPE, which pipefail and set -e would make fatal, silently)
  if [ -x "$bin" ] && [ ! "$newest" -nt "$bin" ]; then return; fi
  # One object per source file, each compiled alone (so that ccache can keep it: a clean
  # checkout's run, or a change to one header, recompiles only what changed), then linked.
  local objects=() libs=() src obj
  mkdir -p "$OUT/obj"
  for src in "$@"; do
    case $src in
      -l*) libs+=("$src") ;;
      *) obj=$OUT/obj/$(echo "${src#"$ROOT"/}" | tr / _).o
         $CXX "${FLAGS[@]}" -c "$src" -o "$obj"
         objects+=("$obj") ;;
    esac
  done
  $CXX "${FLAGS[@]}" "${objects[@]}" -o "$bin" "${libs[@]}" -lboost_json
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

build path_fuzz "$ROOT/tests/fuzz/path_fuzz.cpp" "$ROOT/src/router/router.cpp" "$ROOT/src/config/kong_regex.cpp" -lre2

build jwt_token_fuzz "$ROOT/tests/fuzz/jwt_token_fuzz.cpp" "$ROOT/plugins/jwt/jws.cpp" "$ROOT/plugins/jwt/strict_json.cpp" \
  "$ROOT/src/crypto/base64.cpp" -lcrypto

build login_cookie_fuzz "$ROOT/tests/fuzz/login_cookie_fuzz.cpp" "$ROOT/plugins/openid-connect/cookies.cpp" \
  "$ROOT/plugins/openid-connect/session.cpp" "$ROOT"/src/crypto/{sealed_box,aead,base64}.cpp "$ROOT/src/http/params.cpp" -lcrypto

build yaml_config_fuzz "$ROOT/tests/fuzz/yaml_config_fuzz.cpp" "$ROOT"/src/config/{yaml_json,yaml_reader,validators,kong_regex}.cpp \
  "$ROOT/src/http/h1_parser.cpp" "$ROOT/src/schema/record.cpp" "$ROOT/src/admin/kong_errors.cpp" "$ROOT/src/http/params.cpp" \
  -lyaml-cpp -lre2 -lboost_url

# HTTP/2: the real H2Server and H2Stream over a socket pair (io.cpp's Side, and with it the TLS
# stream's code, links in; no TLS is used).
build h2_server_fuzz "$ROOT/tests/fuzz/h2_server_fuzz.cpp" "$ROOT"/src/proxy/{h2_server,h2_stream,h2_outgoing_body,io}.cpp \
  "$ROOT"/src/http/{h2_messages,h1_parser,chunked,grpc,params,status}.cpp "$ROOT"/src/core/{uuid,deadline}.cpp \
  "$ROOT/src/crypto/base64.cpp" "$ROOT"/src/net/{tls,sni_table,tls_client,session_tickets,dns_cache,dns_resolver}.cpp \
  -lnghttp2 -lssl -lcrypto -lspdlog -lfmt -lcares

GRAPHQL=("$ROOT"/src/graphql/{lexer,parser,error,text,values,schema,schema_rules,prelude}.cpp)
build graphql_parser_fuzz "$ROOT/tests/fuzz/graphql_parser_fuzz.cpp" "${GRAPHQL[@]}" -lfmt
build graphql_validator_fuzz "$ROOT/tests/fuzz/graphql_validator_fuzz.cpp" "${GRAPHQL[@]}" \
  "$ROOT"/src/graphql/{validation,validation_overlap,executor,introspection}.cpp -lfmt

summary=()
# The longest input each target is given (a chunked login cookie takes 8 KB and more).
max_len() {
  case $1 in
    login_cookie_fuzz) echo 12000 ;;
    *) echo 4096 ;;
  esac
}

# The dictionary each target mutates with (tests/fuzz/dict/).
dictionary() {
  case $1 in
    h1_parser_fuzz|trace_context_fuzz|cache_headers_fuzz|path_fuzz) echo "$ROOT/tests/fuzz/dict/http.dict" ;;
    graphql_parser_fuzz|graphql_validator_fuzz|h2_server_fuzz) echo "" ;;
    *) echo "$ROOT/tests/fuzz/dict/json.dict" ;;
  esac
}

for target in admin_body_fuzz cache_headers_fuzz entry_codec_fuzz aggregate_fuzz h1_parser_fuzz trace_context_fuzz json_edit_fuzz grpc_gateway_fuzz \
    graphql_parser_fuzz graphql_validator_fuzz path_fuzz jwt_token_fuzz login_cookie_fuzz yaml_config_fuzz h2_server_fuzz; do
  corpus=$OUT/corpus-$target
  mkdir -p "$corpus"
  cp -n "$ROOT/tests/fuzz/corpus/${target%_fuzz}"/* "$corpus"/ 2>/dev/null || true
  # the GraphQL parser also reads SDL: the differential test's schemas seed it
  [ "$target" != graphql_parser_fuzz ] || cp -n "$ROOT"/tests/graphql/schemas/*.graphql "$corpus"/
  echo "fuzz: $target for ${SECONDS_EACH}s"
  log=$OUT/$target.log
  dict=$(dictionary "$target")
  # (the seeds of tests/fuzz/corpus/, regression inputs of fixed crashes among them, run first:
  # a crash found once fails every run until it is fixed)
  if ! "$OUT/$target" -max_total_time="$SECONDS_EACH" -max_len="$(max_len "$target")" -timeout=10 -rss_limit_mb=2048 \
      ${dict:+-dict="$dict"} -artifact_prefix="$OUT/$target-" -print_final_stats=1 "$corpus" > "$log" 2>&1; then
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
