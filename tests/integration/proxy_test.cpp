// In-process gateway on port 0 in front of fixture upstreams: proxy semantics.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include <functional>
#include <sys/socket.h>
#include <thread>

#include <boost/json.hpp>

#include "support/fixture_upstream.hpp"
#include "support/gateway_harness.hpp"
#include "support/raw_client.hpp"

namespace portico::test {
namespace {

namespace json = boost::json;

std::string config_for(int port, int port2 = 0) {
  std::string yaml = R"(_format_version: "3.0"
services:
- name: users
  url: http://127.0.0.1:{port}
  routes:
  - name: users
    paths: [/users]
  - name: users-kept
    paths: [/kept]
    strip_path: false
  - name: users-host
    paths: [/host]
    preserve_host: true
- name: users-v2
  url: http://127.0.0.1:{port2}/v2
  routes:
  - name: users-v2
    paths: [/users]
    headers:
      X-Version: [v2]
- name: api
  url: http://127.0.0.1:{port}/api
  routes:
  - name: api
    paths: [/api]
- name: secure
  url: http://127.0.0.1:{port}
  routes:
  - name: https-only
    paths: [/secure]
    protocols: [https]
  - name: https-redirect
    paths: [/redirect]
    protocols: [https]
    https_redirect_status_code: 308
- name: slow
  url: http://127.0.0.1:{port}
  read_timeout: 300
  retries: 1
  routes:
  - name: slow
    paths: [/slow]
- name: down
  url: http://127.0.0.1:1
  retries: 2
  routes:
  - name: down
    paths: [/down]
)";
  yaml = replace_all(yaml, "{port}", std::to_string(port));
  return replace_all(yaml, "{port2}", std::to_string(port2 ? port2 : port));
}

json::object echo_of(const Response& r) { return json::parse(r.body).as_object(); }

// A gateway in front of one fixture upstream, with `tweak` applied to the test options.
struct GatewayWith {
  explicit GatewayWith(const std::function<void(proxy::ProxyOptions&)>& tweak)
      : gw(config_for(upstream.port()), options_with(tweak)) {}
  static proxy::ProxyOptions options_with(const std::function<void(proxy::ProxyOptions&)>& tweak) {
    auto options = GatewayHarness::default_options();
    tweak(options);
    return options;
  }
  FixtureUpstream upstream;
  GatewayHarness gw;
};

class ProxyTest : public ::testing::Test {
 protected:
  FixtureUpstream upstream{"v1"};
  FixtureUpstream upstream_v2{"v2"};
  GatewayHarness gw{config_for(upstream.port(), upstream_v2.port())};

  Response get(const std::string& target, const std::string& extra = "") {
    RawConnection c(gw.port());
    c.send("GET " + target + " HTTP/1.1\r\nHost: gw.test\r\n" + extra + "\r\n");
    return c.read_response();
  }
};

TEST_F(ProxyTest, RoutesAndStripsPath) {
  auto r = get("/users/42?full=1");
  ASSERT_EQ(r.status, 200) << r.head;
  auto e = echo_of(r);
  EXPECT_EQ(e.at("target").as_string(), "/42?full=1");
  EXPECT_EQ(e.at("upstream").as_string(), "v1");

  e = echo_of(get("/kept/a"));
  EXPECT_EQ(e.at("target").as_string(), "/kept/a");

  e = echo_of(get("/api/x"));
  EXPECT_EQ(e.at("target").as_string(), "/api/x");
}

TEST_F(ProxyTest, HeaderRoutingForABTests) {
  auto e = echo_of(get("/users/1", "X-Version: v2\r\n"));
  EXPECT_EQ(e.at("upstream").as_string(), "v2");
  EXPECT_EQ(e.at("target").as_string(), "/v2/1");
  e = echo_of(get("/users/1", "X-Version: v1\r\n"));
  EXPECT_EQ(e.at("upstream").as_string(), "v1");
}

TEST_F(ProxyTest, NoRouteIs404WithKongBody) {
  auto r = get("/nothing-here");
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.body, R"({"message":"no Route matched with those values"})");
  EXPECT_EQ(r.field("content-type"), "application/json; charset=utf-8");
  EXPECT_EQ(upstream.request_count(), 0u);
}

TEST_F(ProxyTest, HttpsOnlyRoutesAnswer426OrRedirect) {
  auto r = get("/secure/x");
  EXPECT_EQ(r.status, 426);
  EXPECT_EQ(r.body, R"({"message":"Please use HTTPS protocol"})");
  r = get("/redirect/x?y=1");
  EXPECT_EQ(r.status, 308);
  EXPECT_EQ(r.field("location"), "https://gw.test/redirect/x?y=1");
  EXPECT_EQ(upstream.request_count(), 0u);
}

TEST_F(ProxyTest, HostHeaderPerPreserveHost) {
  auto e = echo_of(get("/users/1"));
  EXPECT_EQ(e.at("headers").at("host").as_string(), "127.0.0.1:" + std::to_string(upstream.port()));
  e = echo_of(get("/host/1"));
  EXPECT_EQ(e.at("headers").at("host").as_string(), "gw.test");
}

TEST_F(ProxyTest, ForwardedHeadersAreSetAndUntrustedValuesReplaced) {
  auto e = echo_of(get("/users/1", "X-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: evil\r\nX-Real-IP: 6.6.6.6\r\n"
                                   "X-Forwarded-Client-Cert: forged\r\n"));
  const auto& h = e.at("headers").as_object();
  EXPECT_FALSE(h.contains("x-forwarded-client-cert"));
  EXPECT_EQ(h.at("x-forwarded-for").as_string(), "127.0.0.1");
  EXPECT_EQ(h.at("x-real-ip").as_string(), "127.0.0.1");
  EXPECT_EQ(h.at("x-forwarded-proto").as_string(), "http");
  EXPECT_EQ(h.at("x-forwarded-host").as_string(), "gw.test");
  EXPECT_EQ(h.at("x-forwarded-port").as_string(), std::to_string(gw.port()));
  EXPECT_EQ(h.at("x-forwarded-prefix").as_string(), "/users");
  EXPECT_EQ(h.at("via").as_string(), "1.1 portico");
}

TEST(ProxyTrusted, TrustedPeerForwardedHeadersAreKept) {
  GatewayWith s([](proxy::ProxyOptions& o) { o.trusted_ips = {*net::Cidr::parse("127.0.0.0/8")}; });
  auto& gw = s.gw;
  RawConnection c(gw.port());
  c.send("GET /users/1 HTTP/1.1\r\nHost: gw.test\r\nX-Forwarded-For: 10.1.1.1\r\nX-Forwarded-Proto: https\r\n"
         "X-Forwarded-Client-Cert: by=spiffe\r\n\r\n");
  auto e = json::parse(c.read_response().body).as_object();
  EXPECT_EQ(e.at("headers").at("x-forwarded-for").as_string(), "10.1.1.1, 127.0.0.1");
  EXPECT_EQ(e.at("headers").at("x-forwarded-proto").as_string(), "https");
  EXPECT_EQ(e.at("headers").at("x-forwarded-client-cert").as_string(), "by=spiffe");
}

TEST_F(ProxyTest, HopByHopHeadersAreRemoved) {
  auto e = echo_of(get("/users/1", "Connection: keep-alive, X-Secret\r\nX-Secret: 1\r\nKeep-Alive: timeout=5\r\n"
                                   "TE: trailers\r\nUpgrade: foo\r\nProxy-Connection: keep-alive\r\nX-Kept: yes\r\n"));
  const auto& h = e.at("headers").as_object();
  for (const char* name : {"connection", "x-secret", "keep-alive", "te", "upgrade", "proxy-connection"}) {
    EXPECT_FALSE(h.contains(name)) << name;
  }
  EXPECT_EQ(h.at("x-kept").as_string(), "yes");
}

TEST_F(ProxyTest, LatencyHeadersOnResponses) {
  auto r = get("/users/1");
  for (const char* name : {"x-portico-upstream-latency", "x-portico-proxy-latency"}) {
    std::string v = r.field(name);
    EXPECT_FALSE(v.empty()) << name;
    EXPECT_EQ(v.find_first_not_of("0123456789"), std::string::npos) << name << ": " << v;  // whole ms
    EXPECT_LT(std::stoul(v.empty() ? "0" : v), 5000u) << name;
  }
  EXPECT_EQ(r.field("via"), "1.1 portico");
}

TEST_F(ProxyTest, KeepAliveReusesUpstreamConnection) {
  RawConnection c(gw.port());
  int first_conn = -1;
  for (int i = 0; i < 5; ++i) {
    c.send("GET /users/" + std::to_string(i) + " HTTP/1.1\r\nHost: gw.test\r\n\r\n");
    auto r = c.read_response();
    ASSERT_EQ(r.status, 200);
    int id = static_cast<int>(echo_of(r).at("connection").as_int64());
    if (i == 0) first_conn = id;
    EXPECT_EQ(id, first_conn) << "request " << i << " used a new upstream connection";
  }
  EXPECT_EQ(upstream.connections_accepted(), 1);
}

TEST_F(ProxyTest, PipelinedRequestsAnswerInOrder) {
  RawConnection c(gw.port());
  std::string batch;
  for (int i = 0; i < 10; ++i) batch += "GET /users/" + std::to_string(i) + " HTTP/1.1\r\nHost: gw.test\r\n\r\n";
  c.send(batch);
  for (int i = 0; i < 10; ++i) {
    auto r = c.read_response();
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(echo_of(r).at("target").as_string(), "/" + std::to_string(i));
  }
}

TEST_F(ProxyTest, ChunkedRequestBodyIsReencoded) {
  RawConnection c(gw.port());
  c.send("POST /users HTTP/1.1\r\nHost: gw.test\r\nTransfer-Encoding: chunked\r\n\r\n"
         "5;name=val\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n");
  auto r = c.read_response();
  ASSERT_EQ(r.status, 200) << r.head;
  EXPECT_EQ(echo_of(r).at("body_length").as_int64(), 11);
  auto reqs = upstream.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].body, "hello world");
  EXPECT_EQ(reqs[0].header("transfer-encoding"), "chunked");
  EXPECT_EQ(reqs[0].count("content-length"), 0);
}

TEST_F(ProxyTest, ContentLengthBodyArrivingInPieces) {
  RawConnection c(gw.port());
  c.send("POST /users HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 10\r\n\r\n01234");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  c.send("56789");
  auto r = c.read_response();
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(upstream.requests().at(0).body, "0123456789");
}

TEST_F(ProxyTest, ChunkedResponseStreamsToClient) {
  auto r = get("/users/../chunked/50");  // normalized to /chunked/50 -> no route
  EXPECT_EQ(r.status, 404);
  r = get("/kept/../users/chunked/3");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.field("transfer-encoding"), "chunked");
  EXPECT_EQ(r.body, "chunk-0\nchunk-1\nchunk-2\n");
}

TEST_F(ProxyTest, CloseDelimitedResponseBecomesChunkedForHttp11) {
  RawConnection c(gw.port());
  c.send("GET /users/close HTTP/1.1\r\nHost: gw.test\r\n\r\n");
  auto r = c.read_response();
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.field("transfer-encoding"), "chunked");
  EXPECT_EQ(r.body, "body until close");
  // The client connection stays usable.
  c.send("GET /users/1 HTTP/1.1\r\nHost: gw.test\r\n\r\n");
  EXPECT_EQ(c.read_response().status, 200);
}

TEST_F(ProxyTest, Http10ClientGetsCloseDelimitedBody) {
  auto raw = raw_exchange(gw.port(), "GET /users/chunked/2 HTTP/1.0\r\nHost: gw.test\r\n\r\n");
  auto r = parse_response(raw);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.field("transfer-encoding"), "");
  EXPECT_EQ(r.field("connection"), "close");
  EXPECT_EQ(r.body, "chunk-0\nchunk-1\n");
}

TEST_F(ProxyTest, AnErrorAnswerKeepsOrClosesTheConnectionAsTheClientAsked) {
  {
    RawConnection c(gw.port());  // HTTP/1.0 without keep-alive: closed after the 404
    c.send("GET /nowhere HTTP/1.0\r\nHost: gw.test\r\n\r\n");
    auto r = c.read_response();
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.field("connection"), "close");
    EXPECT_TRUE(c.closed_by_peer());
  }
  {
    RawConnection c(gw.port());  // HTTP/1.0 with keep-alive: told so, and kept
    c.send("GET /nowhere HTTP/1.0\r\nHost: gw.test\r\nConnection: keep-alive\r\n\r\n");
    auto r = c.read_response();
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.field("connection"), "keep-alive");
    c.send("GET /users/1 HTTP/1.0\r\nHost: gw.test\r\nConnection: keep-alive\r\n\r\n");
    EXPECT_EQ(c.read_response().status, 200);
  }
  RawConnection c(gw.port());  // HTTP/1.1 asking to close
  c.send("GET /nowhere HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n");
  auto r = c.read_response();
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(r.field("connection"), "close");
  EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(ProxyTest, ExpectContinue) {
  RawConnection c(gw.port());
  c.send("PUT /users/1 HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n");
  auto interim = c.read_response();
  EXPECT_EQ(interim.status, 100);
  c.send("data");
  auto r = c.read_response();
  ASSERT_EQ(r.status, 200);
  auto reqs = upstream.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].body, "data");
  EXPECT_EQ(reqs[0].count("expect"), 0);
}

TEST_F(ProxyTest, HeadAndBodylessStatuses) {
  RawConnection c(gw.port());
  c.send("HEAD /users/1 HTTP/1.1\r\nHost: gw.test\r\n\r\n");
  auto r = c.read_response(true);
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(r.field("content-length").empty());
  c.send("GET /users/status/204 HTTP/1.1\r\nHost: gw.test\r\n\r\n");
  r = c.read_response();
  EXPECT_EQ(r.status, 204);
  c.send("GET /users/status/304 HTTP/1.1\r\nHost: gw.test\r\n\r\n");
  r = c.read_response();
  EXPECT_EQ(r.status, 304);
  c.send("GET /users/1 HTTP/1.1\r\nHost: gw.test\r\n\r\n");
  EXPECT_EQ(c.read_response().status, 200);  // framing intact after bodyless responses
}

TEST_F(ProxyTest, UpstreamTimeoutIs504AfterRetry) {
  // A GET without a body that timed out before any response byte is retried (once here).
  auto start = std::chrono::steady_clock::now();
  auto r = get("/slow/hang");
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status, 504);
  EXPECT_EQ(r.body, R"({"message":"The upstream server is timing out"})");
  EXPECT_GE(elapsed, std::chrono::milliseconds(600));
  EXPECT_LT(elapsed, std::chrono::seconds(3));
  auto totals = gw.gateway().totals();
  EXPECT_EQ(totals.upstream_timeouts, 2u);
  EXPECT_EQ(totals.upstream_retries, 1u);
}

TEST(UpstreamTimeouts, WriteTimeoutIs504) {
  FixtureUpstream upstream;
  GatewayHarness gw("_format_version: \"3.0\"\nservices:\n- name: s\n  url: http://127.0.0.1:" +
                    std::to_string(upstream.port()) + "\n  write_timeout: 300\n  routes:\n  - paths: [/]\n    strip_path: false\n");
  const std::size_t size = 64 * 1024 * 1024;  // far more than the socket buffers hold
  RawConnection c(gw.port(), std::chrono::milliseconds(20000));
  std::thread sender([&] {
    c.send("POST /no-read HTTP/1.1\r\nHost: a\r\nContent-Length: " + std::to_string(size) + "\r\n\r\n");
    std::string piece(1 << 20, 'w');
    for (std::size_t sent = 0; sent < size; sent += piece.size()) {
      if (!c.send(piece)) break;
    }
  });
  auto r = c.read_response();
  ::shutdown(c.fd(), SHUT_RDWR);
  sender.join();
  EXPECT_EQ(r.status, 504);
}

TEST(UpstreamTimeouts, ConnectTimeoutIs504) {
  BlackholeListener hole;
  GatewayHarness gw("_format_version: \"3.0\"\nservices:\n- name: s\n  url: http://127.0.0.1:" +
                    std::to_string(hole.port()) + "\n  connect_timeout: 200\n  retries: 1\n  routes:\n  - paths: [/]\n");
  auto start = std::chrono::steady_clock::now();
  RawConnection c(gw.port());
  c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  auto r = c.read_response();
  EXPECT_EQ(r.status, 504);
  EXPECT_EQ(r.body, R"({"message":"The upstream server is timing out"})");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
}

TEST(Balancing, WeightedRoundRobinFollowsWeights) {
  FixtureUpstream a("a"), b("b");
  GatewayHarness gw("_format_version: \"3.0\"\nservices:\n- name: s\n  host: pool\n  routes:\n  - paths: [/]\n"
                    "upstreams:\n- name: pool\n  targets:\n  - target: 127.0.0.1:" + std::to_string(a.port()) +
                    "\n    weight: 100\n  - target: 127.0.0.1:" + std::to_string(b.port()) + "\n    weight: 50\n");
  RawConnection c(gw.port());
  std::string previous;
  int same_in_a_row = 0, max_run = 0;
  for (int i = 0; i < 300; ++i) {
    c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
    auto r = c.read_response();
    ASSERT_EQ(r.status, 200);
    std::string who(json::parse(r.body).at("upstream").as_string());
    same_in_a_row = who == previous ? same_in_a_row + 1 : 1;
    max_run = std::max(max_run, same_in_a_row);
    previous = who;
  }
  EXPECT_EQ(a.request_count(), 200u);
  EXPECT_EQ(b.request_count(), 100u);
  EXPECT_LE(max_run, 2);  // smooth: a, b, a, a, b, a ... never a burst to one target
}

TEST_F(ProxyTest, UpstreamDownIs502AfterRetries) {
  auto r = get("/down");
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(r.body, R"({"message":"An invalid response was received from the upstream server"})");
  auto totals = gw.gateway().totals();
  EXPECT_EQ(totals.upstream_retries, 2u);
  EXPECT_EQ(totals.upstream_connect_failures, 3u);
  EXPECT_EQ(totals.responses_5xx, 1u);
}

TEST_F(ProxyTest, AmbiguousUpstreamFramingIs502) {
  auto r = get("/users/bad-framing");
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(gw.gateway().totals().upstream_invalid_responses, 1u);
}

TEST_F(ProxyTest, UpstreamConnectionCloseIsHonoured) {
  RawConnection c(gw.port());
  c.send("GET /users/connection-close HTTP/1.1\r\nHost: gw.test\r\n\r\n");
  EXPECT_EQ(c.read_response().status, 200);
  c.send("GET /users/1 HTTP/1.1\r\nHost: gw.test\r\n\r\n");
  EXPECT_EQ(c.read_response().status, 200);
  EXPECT_EQ(upstream.connections_accepted(), 2);
}

TEST_F(ProxyTest, UpstreamGoneAfterPoolingGives502NotAHang) {
  RawConnection c(gw.port());
  c.send("GET /users/1 HTTP/1.1\r\nHost: gw.test\r\n\r\n");
  ASSERT_EQ(c.read_response().status, 200);
  upstream.stop();  // closes the pooled connection and stops listening
  c.send("GET /users/2 HTTP/1.1\r\nHost: gw.test\r\n\r\n");
  auto r = c.read_response();
  EXPECT_EQ(r.status, 502);
}

TEST_F(ProxyTest, StalePooledConnectionIsRetriedOnAFreshOneForGet) {
  RawConnection c(gw.port());
  c.send("GET /users/close-after HTTP/1.1\r\nHost: gw.test\r\n\r\n");
  ASSERT_EQ(c.read_response().status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(150));  // the upstream closed it
  c.send("GET /users/1 HTTP/1.1\r\nHost: gw.test\r\n\r\n");
  auto r = c.read_response();
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(upstream.connections_accepted(), 2);
}

TEST_F(ProxyTest, StalePooledConnectionIsNotUsedForABody) {
  RawConnection c(gw.port());
  c.send("GET /users/close-after HTTP/1.1\r\nHost: gw.test\r\n\r\n");
  ASSERT_EQ(c.read_response().status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  c.send("POST /users/1 HTTP/1.1\r\nHost: gw.test\r\nContent-Length: 5\r\n\r\nhello");
  auto r = c.read_response();
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(upstream.requests().back().body, "hello");
}

TEST_F(ProxyTest, LargeBodiesStreamBothWays) {
  const std::size_t size = 8 * 1024 * 1024;
  RawConnection c(gw.port(), std::chrono::milliseconds(20000));
  c.send("POST /users/bytes/" + std::to_string(size) + " HTTP/1.1\r\nHost: gw.test\r\nContent-Length: " +
         std::to_string(size) + "\r\n\r\n" + std::string(size, 'y'));
  auto r = c.read_response();
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body.size(), size);
  EXPECT_EQ(upstream.requests().at(0).body.size(), size);
}

TEST(ProxyLimits, BodyLimitGives413) {
  GatewayWith s([](proxy::ProxyOptions& o) { o.max_body_size = 100; });
  auto& gw = s.gw;
  auto r = parse_response(raw_exchange(gw.port(), "POST /users HTTP/1.1\r\nHost: a\r\nContent-Length: 101\r\n\r\n"));
  EXPECT_EQ(r.status, 413);
  r = parse_response(raw_exchange(gw.port(), "POST /users HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
                                             "64\r\n" + std::string(100, 'a') + "\r\n1\r\nb\r\n0\r\n\r\n"));
  EXPECT_EQ(r.status, 413);
  r = parse_response(raw_exchange(gw.port(), "POST /users HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\nConnection: close\r\n\r\n" +
                                                 std::string(100, 'a')));
  EXPECT_EQ(r.status, 200);
}

TEST(ProxyLimits, ClientHeaderTimeoutClosesSlowClients) {
  GatewayWith s([](proxy::ProxyOptions& o) { o.client_header_timeout = std::chrono::milliseconds(200); });
  auto& upstream = s.upstream;
  auto& gw = s.gw;
  // a few bytes (parked at once with them), and a longer start (parked after 100 ms in a
  // DownstreamConnection): the parked connection answers when the head's time is up
  for (const std::string& start : {std::string("GET /users HTTP/1.1\r\nHost: a\r\n"),
                                   "GET /users HTTP/1.1\r\nHost: a\r\nX-Long: " + std::string(200, 'l') + "\r\n"}) {
    RawConnection c(gw.port());
    c.send(start);
    auto r = c.read_response();
    EXPECT_EQ(r.status, 408) << start.size();
    EXPECT_EQ(r.body, R"({"message":"timed out reading the request head"})");
    EXPECT_TRUE(c.closed_by_peer());
  }
  EXPECT_EQ(upstream.request_count(), 0u);
}

TEST(ProxyLimits, ClientBodyTimeoutGives408) {
  GatewayWith s([](proxy::ProxyOptions& o) { o.client_body_timeout = std::chrono::milliseconds(200); });
  auto& upstream = s.upstream;
  auto& gw = s.gw;
  RawConnection c(gw.port());
  c.send("POST /users HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n01234");
  auto r = c.read_response();
  EXPECT_EQ(r.status, 408);
  EXPECT_TRUE(c.closed_by_peer());
  EXPECT_EQ(upstream.request_count(), 0u);  // the incomplete request never completed upstream
}

// nginx's client_header_timeout: the whole head, not each read. A client sending a byte every
// 100 ms (each read well within the timeout) is still cut at the head's deadline (slowloris).
TEST(ProxyLimits, ClientHeaderTimeoutBoundsTheWholeHead) {
  GatewayWith s([](proxy::ProxyOptions& o) { o.client_header_timeout = std::chrono::milliseconds(800); });
  RawConnection c(s.gw.port());
  const std::string head = "GET /users HTTP/1.1\r\nHost: a\r\nX-Slow: " + std::string(100, 'x') + "\r\n\r\n";
  const auto start = std::chrono::steady_clock::now();
  std::size_t sent = 0;
  for (; sent < head.size() && c.send(head.substr(sent, 1)); ++sent) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (std::chrono::steady_clock::now() - start > std::chrono::seconds(3)) break;
  }
  auto r = c.read_response();
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.status, 408) << r.head;
  EXPECT_LT(sent, head.size());  // cut before the head was whole
  EXPECT_GE(elapsed, std::chrono::milliseconds(750));
  EXPECT_LT(elapsed, std::chrono::milliseconds(2500));  // (the deadline, rounded up by at most 1/16)
  EXPECT_EQ(s.upstream.request_count(), 0u);
}

// --client-body-min-rate: after the first client_body_timeout, the body must keep up the rate
// on average; a client above it is served however long its body takes, and without the option
// (Kong's behaviour) a slow client is served too.
TEST(ProxyLimits, ClientBodyMinRateCutsBodiesBelowIt) {
  auto dribble = [](int port, int bytes_per_tick) {
    RawConnection c(port, std::chrono::milliseconds(8000));
    const int total = 3000;
    c.send("POST /users HTTP/1.1\r\nHost: a\r\nContent-Length: " + std::to_string(total) + "\r\n\r\n");
    for (int sent = 0; sent < total;) {  // a tick every 50 ms
      int n = std::min(bytes_per_tick, total - sent);
      if (!c.send(std::string(n, 'b'))) break;
      sent += n;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return c.read_response();
  };
  GatewayWith limited([](proxy::ProxyOptions& o) {
    o.client_body_timeout = std::chrono::milliseconds(400);
    o.client_body_min_rate = 1000;  // bytes per second
  });
  auto slow = dribble(limited.gw.port(), 25);  // 500 B/s: 6 s for the body; cut after ~0.8 s
  EXPECT_EQ(slow.status, 408) << slow.head;
  EXPECT_NE(slow.body.find("timed out reading the request body"), std::string::npos) << slow.body;
  auto fast = dribble(limited.gw.port(), 150);  // 3000 B/s: 1 s, longer than the body timeout
  EXPECT_EQ(fast.status, 200) << fast.head;

  GatewayWith unlimited([](proxy::ProxyOptions& o) { o.client_body_timeout = std::chrono::milliseconds(400); });
  auto served = dribble(unlimited.gw.port(), 25);
  EXPECT_EQ(served.status, 200) << served.head;
}

// --max-connections-per-client: the connection over the limit gets a 429 and is closed; one
// closing makes room. (Addresses apart: net/connections_per_address_test.cpp.)
TEST(ProxyLimits, ConnectionsPerClientAddress) {
  GatewayWith s([](proxy::ProxyOptions& o) { o.max_connections_per_client = 3; });
  auto a = std::make_unique<RawConnection>(s.gw.port());
  RawConnection b(s.gw.port()), c(s.gw.port());
  for (RawConnection* open : {a.get(), &b, &c}) {  // (an answer: the gateway has counted it)
    ASSERT_TRUE(open->send("GET /users/1 HTTP/1.1\r\nHost: a\r\n\r\n"));
    ASSERT_EQ(open->read_response().status, 200);
  }
  RawConnection over(s.gw.port());
  auto refused = over.read_response();
  EXPECT_EQ(refused.status, 429) << refused.head;
  EXPECT_EQ(json::parse(refused.body).at("message").as_string(), "too many open connections from this client address");
  EXPECT_TRUE(over.closed_by_peer());
  for (RawConnection* open : {&b, &c}) {
    ASSERT_TRUE(open->send("GET /users/1 HTTP/1.1\r\nHost: a\r\n\r\n"));
    EXPECT_EQ(open->read_response().status, 200);
  }
  a.reset();  // one closes: room for one more
  bool served = false;
  for (int i = 0; i < 50 && !served; ++i) {  // (the gateway sees the close a moment later)
    RawConnection next(s.gw.port());
    next.send("GET /users/1 HTTP/1.1\r\nHost: a\r\n\r\n");
    served = next.read_response().status == 200;
    if (!served) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(served);
}

// An idle plain connection parks (proxy/parked_connection.hpp) after kParkAfter: it is
// still counted open and waiting, serves its next request, and ends at its keep-alive timeout.
TEST(ProxyLimits, ParkedConnectionsServeAgainAndTimeOut) {
  GatewayWith s([](proxy::ProxyOptions& o) { o.keepalive_timeout = std::chrono::milliseconds(700); });
  RawConnection c(s.gw.port());
  bool parked = false;  // a new connection waits parked for its first bytes
  for (int i = 0; i < 100 && !parked; ++i) {
    parked = s.gw.gateway().totals().connections_parked == 1;
    if (!parked) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(parked);
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(c.send("GET /users/1 HTTP/1.1\r\nHost: a\r\n\r\n"));
    ASSERT_EQ(c.read_response().status, 200) << "request " << i;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // parked by now
    auto totals = s.gw.gateway().totals();
    EXPECT_EQ(totals.connections_active, 1u);
    EXPECT_EQ(totals.connections_waiting, 1u);
    EXPECT_EQ(totals.connections_parked, 1u) << "idle for 300 ms: parked, not waiting in place";
  }
  EXPECT_EQ(s.upstream.request_count(), 3u);
  // 300 ms of its 700 are gone: closed some 400 ms from now
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.closed_by_peer(std::chrono::milliseconds(3000)));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(250));
  bool closed = false;  // (the gateway's count follows a moment later)
  for (int i = 0; i < 100 && !closed; ++i) {
    closed = s.gw.gateway().totals().connections_active == 0;
    if (!closed) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(closed);
}

// Polls the gateway's totals until `pred` holds (1 s at most).
template <typename Pred>
bool totals_become(GatewayHarness& gw, Pred pred) {
  for (int i = 0; i < 100; ++i) {
    if (pred(gw.gateway().totals())) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

// A head arriving in pieces waits parked with its bytes so far (reading, not waiting), both
// when its first bytes were a few (kept by the parked connection at once) and when a longer
// start stalled in a DownstreamConnection (parked after 100 ms); completed, it is served.
TEST(ProxyLimits, SlowHeadsWaitParkedWithTheirBytes) {
  GatewayWith s([](proxy::ProxyOptions& o) { o.client_header_timeout = std::chrono::milliseconds(3000); });
  const std::string long_start = "GET /users/1 HTTP/1.1\r\nHost: a\r\nX-Long: " + std::string(200, 'l') + "\r\n";
  for (const std::string& start : {std::string("GET /users/1 HTTP/1.1\r\nHost: a\r\n"), long_start}) {
    RawConnection c(s.gw.port());
    ASSERT_TRUE(c.send(start));
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    EXPECT_TRUE(totals_become(s.gw, [](const auto& t) { return t.connections_parked == 1 && t.connections_waiting == 0; }))
        << "a partial head of " << start.size() << " bytes is parked, reading";
    ASSERT_TRUE(c.send("Host2: b\r\n"));
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    EXPECT_EQ(s.gw.gateway().totals().connections_parked, 1u);
    ASSERT_TRUE(c.send("\r\n"));
    auto r = c.read_response();
    EXPECT_EQ(r.status, 200) << start.size() << "-byte start: " << r.head;
    // then idle: parked again, waiting
    EXPECT_TRUE(totals_become(s.gw, [](const auto& t) { return t.connections_parked == 1 && t.connections_waiting == 1; }));
  }
  EXPECT_EQ(s.upstream.request_count(), 2u);
}

TEST(ProxyLimits, IdleKeepAliveConnectionsAreClosed) {
  GatewayWith s([](proxy::ProxyOptions& o) { o.keepalive_timeout = std::chrono::milliseconds(200); });
  auto& gw = s.gw;
  RawConnection c(gw.port());
  c.send("GET /users/1 HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_EQ(c.read_response().status, 200);
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.closed_by_peer(std::chrono::milliseconds(3000)));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(150));
}

TEST(UpstreamPool, MaxRequestsPerConnection) {
  GatewayWith s([](proxy::ProxyOptions& o) { o.upstream_keepalive_max_requests = 2; });
  auto& upstream = s.upstream;
  auto& gw = s.gw;
  RawConnection c(gw.port());
  for (int i = 0; i < 5; ++i) {
    c.send("GET /users/1 HTTP/1.1\r\nHost: a\r\n\r\n");
    ASSERT_EQ(c.read_response().status, 200);
  }
  EXPECT_EQ(upstream.connections_accepted(), 3);  // 2 + 2 + 1
}

TEST(UpstreamPool, IdleTimeoutDropsPooledConnections) {
  GatewayWith s([](proxy::ProxyOptions& o) { o.upstream_keepalive_idle_timeout = std::chrono::milliseconds(100); });
  auto& upstream = s.upstream;
  auto& gw = s.gw;
  RawConnection c(gw.port());
  c.send("GET /users/1 HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_EQ(c.read_response().status, 200);
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  c.send("GET /users/1 HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_EQ(c.read_response().status, 200);
  EXPECT_EQ(upstream.connections_accepted(), 2);
}

TEST(ProxyLimits, ConnectionLimitRefusesCleanly) {
  GatewayWith s([](proxy::ProxyOptions& o) { o.max_connections_per_worker = 2; });
  auto& gw = s.gw;
  RawConnection a(gw.port()), b(gw.port());
  a.send("GET /users/1 HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_EQ(a.read_response().status, 200);
  b.send("GET /users/1 HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_EQ(b.read_response().status, 200);
  auto r = parse_response(raw_exchange(gw.port(), "GET /users/1 HTTP/1.1\r\nHost: a\r\n\r\n"));
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, R"({"message":"too many open connections"})");
  EXPECT_EQ(r.field("content-length"), std::to_string(r.body.size()));
  a.send("GET /users/2 HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(a.read_response().status, 200);  // existing connections unaffected
}

TEST(Reload, ValidConfigSwapsInvalidKeepsOld) {
  FixtureUpstream upstream;
  GatewayHarness gw(config_for(upstream.port()));
  RawConnection c(gw.port());
  c.send("GET /fresh HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(c.read_response().status, 404);
  auto errors = gw.rewrite_and_reload("_format_version: \"3.0\"\nservices:\n- name: s\n  url: http://127.0.0.1:" +
                                      std::to_string(upstream.port()) + "\n  routes:\n  - paths: [/fresh]\n");
  EXPECT_TRUE(errors.empty());
  c.send("GET /fresh HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(c.read_response().status, 200);  // same client connection, new snapshot
  // Every field error at once, in file order (checks over a whole entity run once its fields are valid).
  errors = gw.rewrite_and_reload("_format_version: \"3.0\"\nservices:\n- name: s\n  port: high\n  retries: nope\n");
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_NE(errors[0].find(":4:9: services[0].port: expected an integer"), std::string::npos) << errors[0];
  EXPECT_NE(errors[1].find(":5:12: services[0].retries: expected an integer"), std::string::npos) << errors[1];
  c.send("GET /fresh HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(c.read_response().status, 200);
}

TEST(Admin, RootAndStatus) {
  FixtureUpstream upstream;
  GatewayHarness gw(config_for(upstream.port()));
  RawConnection p(gw.port());
  p.send("GET /users/1 HTTP/1.1\r\nHost: a\r\n\r\n");
  ASSERT_EQ(p.read_response().status, 200);
  RawConnection c(gw.admin_port());
  c.send("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
  auto r = c.read_response();
  ASSERT_EQ(r.status, 200);
  auto root = json::parse(r.body).as_object();
  EXPECT_EQ(root.at("version").as_string(), PORTICO_VERSION);
  EXPECT_EQ(root.at("tagline").as_string(), "Welcome to portico");
  c.send("GET /status HTTP/1.1\r\nHost: a\r\n\r\n");
  r = c.read_response();
  auto status = json::parse(r.body).as_object();
  EXPECT_EQ(status.at("server").at("total_requests").as_int64(), 1);
  EXPECT_EQ(status.at("configuration_hash").as_string().size(), 32u);
  EXPECT_EQ(status.at("database").at("reachable").as_bool(), true);
  c.send("GET /nope HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(c.read_response().status, 404);
}

// Kong's schema endpoints answer from the plugins' own declarations.
TEST(Admin, PluginSchemasAndEnabledPlugins) {
  FixtureUpstream upstream;
  GatewayHarness gw(config_for(upstream.port()));
  RawConnection c(gw.admin_port());
  c.send("GET /plugins/enabled HTTP/1.1\r\nHost: a\r\n\r\n");
  auto r = c.read_response();
  ASSERT_EQ(r.status, 200);
  std::set<std::string> enabled;
  json::value listed = json::parse(r.body);
  for (const auto& n : listed.at("enabled_plugins").as_array()) enabled.insert(std::string(n.as_string()));
  for (const char* name : {"key-auth", "basic-auth", "jwt", "acl", "circuit-breaker"}) EXPECT_EQ(enabled.count(name), 1u) << name;

  c.send("GET /schemas/plugins/key-auth HTTP/1.1\r\nHost: a\r\n\r\n");
  r = c.read_response();
  ASSERT_EQ(r.status, 200) << r.body;
  json::object config;
  json::value described = json::parse(r.body);
  for (const auto& f : described.at("fields").as_array()) {
    if (f.as_object().contains("config")) config = f.at("config").as_object();
  }
  ASSERT_EQ(config.at("type"), "record");
  std::map<std::string, json::object> fields;
  for (const auto& f : config.at("fields").as_array()) {
    for (const auto& [k, v] : f.as_object()) fields[std::string(k)] = v.as_object();
  }
  EXPECT_EQ(fields.at("key_names").at("type"), "array");
  EXPECT_EQ(fields.at("key_names").at("default"), json::array{"apikey"});
  EXPECT_EQ(fields.at("hide_credentials").at("default"), false);
  EXPECT_TRUE(fields.at("anonymous").at("default").is_null());  // Kong's null
  EXPECT_EQ(fields.at("run_on_preflight").at("default"), true);

  c.send("GET /schemas/plugins/circuit-breaker HTTP/1.1\r\nHost: a\r\n\r\n");
  r = c.read_response();
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find(R"("max_failures":{"type":"integer","between":[0,1000000],"default":5})"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"("consumer":{"type":"foreign","reference":"consumers","default":null,"eq":null})"), std::string::npos);

  c.send("GET /schemas/plugins/rate-limitin HTTP/1.1\r\nHost: a\r\n\r\n");
  r = c.read_response();
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(json::parse(r.body).at("message"), "No plugin named 'rate-limitin'");
}

Response admin_post(RawConnection& c, const std::string& path, const std::string& type, const std::string& body) {
  c.send("POST " + path + " HTTP/1.1\r\nHost: a\r\nContent-Type: " + type + "\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body);
  return c.read_response();
}

// Kong's validate endpoint: form and JSON bodies through the plugin's own schema, Kong's
// schema violation body, and the body limits.
TEST(Admin, ValidatesPluginEntities) {
  FixtureUpstream upstream;
  GatewayHarness gw(config_for(upstream.port()));
  RawConnection c(gw.admin_port());
  const std::string form = "application/x-www-form-urlencoded";
  auto r = admin_post(c, "/schemas/plugins/validate", form, "name=key-auth&config.key_names[]=apikey&config.hide_credentials=true");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body).at("message"), "schema validation successful");

  r = admin_post(c, "/schemas/plugins/validate", "application/json",
                 R"({"name":"circuit-breaker","config":{"max_failures":"5","window_size":-1,"colour":"red"}})");
  ASSERT_EQ(r.status, 400) << r.body;
  auto body = json::parse(r.body);
  EXPECT_EQ(body.at("code"), 2);
  EXPECT_EQ(body.at("name"), "schema violation");
  EXPECT_EQ(body.at("fields"), json::parse(R"({"config":{"max_failures":"expected an integer",
    "window_size":"value should be between 0.001 and 86400","colour":"unknown field"}})"));

  r = admin_post(c, "/schemas/plugins/validate", "application/json", R"({"name":"acl","config":{"hide_groups_header":true}})");
  ASSERT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body).at("fields"), json::parse(R"({"config":{"@entity":["set one of 'allow' or 'deny'"]}})"));
  r = admin_post(c, "/schemas/plugins/validate", form, "name=rate-limitin&config.minute=5");
  ASSERT_EQ(r.status, 400);
  EXPECT_NE(json::parse(r.body).at("fields").at("name").as_string().find("plugin 'rate-limitin' not enabled"),
            std::string::npos);
  r = admin_post(c, "/schemas/plugins/validate", form, "config.minute=5");
  EXPECT_EQ(json::parse(r.body).at("fields").at("name"), "required field missing");
  r = admin_post(c, "/schemas/plugins/validate", form, "name=acl&config.allow=a&config.allow.x=b");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("conflicts with another field"), std::string::npos) << r.body;
  r = admin_post(c, "/schemas/plugins/validate", "application/json", "{\"name\":");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body).at("message"), "Cannot parse JSON body");
  r = admin_post(c, "/schemas/plugins/validate", "text/plain", "name=acl");
  EXPECT_EQ(r.status, 415);
  c.send("GET /schemas/plugins/validate HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(c.read_response().status, 405);
  // The connection stayed usable through all of that.
  c.send("GET /status HTTP/1.1\r\nHost: a\r\n\r\n");
  EXPECT_EQ(c.read_response().status, 200);

  // A body past the limit is refused before it is read; chunked bodies need a length.
  RawConnection big(gw.admin_port());
  big.send("POST /schemas/plugins/validate HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
           "Content-Length: 20000000\r\n\r\n{");
  EXPECT_EQ(big.read_response().status, 413);
  RawConnection chunked(gw.admin_port());
  chunked.send("POST /schemas/plugins/validate HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
  EXPECT_EQ(chunked.read_response().status, 411);
}

// A body larger than one read buffer arrives in pieces and is read whole.
TEST(Admin, ReadsLargeBodies) {
  FixtureUpstream upstream;
  GatewayHarness gw(config_for(upstream.port()));
  RawConnection c(gw.admin_port());
  std::string names;
  for (int i = 0; i < 8000; ++i) names += (names.empty() ? "" : ",") + std::string("\"key-") + std::to_string(i) + "\"";
  std::string json_body = R"({"name":"key-auth","config":{"key_names":[)" + names + "]}}";
  ASSERT_GT(json_body.size(), 64u * 1024);
  auto r = admin_post(c, "/schemas/plugins/validate", "application/json", json_body);
  EXPECT_EQ(r.status, 200) << r.body.substr(0, 300);
}

}  // namespace
}  // namespace portico::test
