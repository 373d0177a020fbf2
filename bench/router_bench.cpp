// Router lookups with 10,000 routes (prefix, host and regex mixes) and HTTP/1 head parsing.
#include <benchmark/benchmark.h>

#include "config/loader.hpp"
#include "http/h1_parser.hpp"
#include "router/router.hpp"

namespace {

using portico::router::Router;

std::unique_ptr<Router> make_router(int routes, bool with_hosts, int regex_routes) {
  std::string yaml = "_format_version: \"3.0\"\nservices:\n- name: s\n  url: http://127.0.0.1:1\n  routes:\n";
  for (int i = 0; i < routes; ++i) {
    yaml += "  - name: r" + std::to_string(i) + "\n    paths: [/svc" + std::to_string(i) + "/api]\n";
    if (with_hosts && i % 2 == 0) yaml += "    hosts: [h" + std::to_string(i) + ".example.com]\n";
  }
  for (int i = 0; i < regex_routes; ++i) {
    yaml += "  - name: re" + std::to_string(i) + "\n    paths: [\"~/rx" + std::to_string(i) + "/\\\\d+$\"]\n";
  }
  auto loaded = portico::config::load_declarative_text(yaml, "bench.yml");
  if (!loaded.ok()) throw std::runtime_error(loaded.errors[0].to_string());
  return std::make_unique<Router>(loaded.config);
}

void match_loop(benchmark::State& state, const Router& router, const std::string& raw) {
  portico::http::RequestHead head;
  portico::http::parse_request_head(raw, {}, head);
  portico::router::MatchResult m;
  for (auto _ : state) {
    bool ok = router.match({head.method, head.host, head.path, 8000, &head}, m);
    benchmark::DoNotOptimize(ok);
  }
}

void BM_Router10kPrefixRoutes(benchmark::State& state) {
  static auto router = make_router(10000, false, 0);
  match_loop(state, *router, "GET /svc7777/api/items/1 HTTP/1.1\r\nHost: a.example.com\r\n\r\n");
}
BENCHMARK(BM_Router10kPrefixRoutes);

void BM_Router10kPrefixAndHostRoutes(benchmark::State& state) {
  static auto router = make_router(10000, true, 0);
  match_loop(state, *router, "GET /svc7778/api/items/1 HTTP/1.1\r\nHost: h7778.example.com\r\n\r\n");
}
BENCHMARK(BM_Router10kPrefixAndHostRoutes);

void BM_Router10kRoutesNoMatch(benchmark::State& state) {
  static auto router = make_router(10000, false, 0);
  match_loop(state, *router, "GET /nothing/here HTTP/1.1\r\nHost: a.example.com\r\n\r\n");
}
BENCHMARK(BM_Router10kRoutesNoMatch);

// Regex routes cannot be indexed by prefix; they are evaluated in priority order.
void BM_Router10kPrefixPlus100Regex(benchmark::State& state) {
  static auto router = make_router(10000, false, 100);
  match_loop(state, *router, "GET /rx99/123 HTTP/1.1\r\nHost: a.example.com\r\n\r\n");
}
BENCHMARK(BM_Router10kPrefixPlus100Regex);

void BM_ParseRequestHead(benchmark::State& state) {
  std::string raw =
      "GET /users/1?expand=orders HTTP/1.1\r\nHost: api.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\n"
      "Accept: application/json\r\nAccept-Encoding: gzip, deflate, br\r\nAccept-Language: en-US,en;q=0.9\r\n"
      "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.abc\r\nConnection: keep-alive\r\n\r\n";
  portico::http::RequestHead head;
  for (auto _ : state) {
    auto r = portico::http::parse_request_head(raw, {}, head);
    benchmark::DoNotOptimize(r);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * raw.size()));
}
BENCHMARK(BM_ParseRequestHead);

}  // namespace
