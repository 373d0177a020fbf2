#include "http/grpc.hpp"

#include <gtest/gtest.h>

#include "http/chunked.hpp"

namespace portico::http {
namespace {

TEST(GrpcTimeout, EveryUnitAndMalformedValues) {
  EXPECT_EQ(parse_grpc_timeout("2H"), std::chrono::milliseconds(7200000));
  EXPECT_EQ(parse_grpc_timeout("3M"), std::chrono::milliseconds(180000));
  EXPECT_EQ(parse_grpc_timeout("5S"), std::chrono::milliseconds(5000));
  EXPECT_EQ(parse_grpc_timeout("400m"), std::chrono::milliseconds(400));
  EXPECT_EQ(parse_grpc_timeout("1500u"), std::chrono::milliseconds(2));  // rounded up, never to 0
  EXPECT_EQ(parse_grpc_timeout("1n"), std::chrono::milliseconds(1));
  EXPECT_EQ(parse_grpc_timeout("99999999m"), std::chrono::milliseconds(99999999));  // 8 digits: the most
  for (std::string_view bad : {"", "m", "10", "10x", "-5m", "123456789m", "1.5S", " 5S"}) {
    EXPECT_FALSE(parse_grpc_timeout(bad).has_value()) << bad;
  }
}

TEST(GrpcStatus, KongsTableWithUnavailableForBadGateway) {
  EXPECT_EQ(grpc_status_for_http(401), 16);
  EXPECT_EQ(grpc_status_for_http(403), 7);
  EXPECT_EQ(grpc_status_for_http(429), 8);
  EXPECT_EQ(grpc_status_for_http(502), 14);
  EXPECT_EQ(grpc_status_for_http(503), 14);
  EXPECT_EQ(grpc_status_for_http(504), 4);
  EXPECT_EQ(grpc_status_for_http(507), 13);
  EXPECT_EQ(grpc_status_for_http(418), 3);
  EXPECT_EQ(grpc_status_for_http(204), 0);
  EXPECT_EQ(grpc_status_for_http(302), 2);
  EXPECT_EQ(grpc_status_name(8), "ResourceExhausted");
  EXPECT_EQ(grpc_status_name(99), "Unknown");
}

TEST(GrpcStatus, HttpStatusOfEachCodeAsGoogleRpcMapsIt) {
  EXPECT_EQ(http_status_for_grpc(0), 200);
  EXPECT_EQ(http_status_for_grpc(5), 404);
  EXPECT_EQ(http_status_for_grpc(12), 501);
  EXPECT_EQ(http_status_for_grpc(14), 503);
  EXPECT_EQ(http_status_for_grpc(16), 401);
  EXPECT_EQ(http_status_for_grpc(99), 500);
}

TEST(GrpcStatus, TrailersOnlyAnswerKeepsTheHttpStatus) {
  std::string answer = grpc_error_response(429, "slow down, 100% busy\n", "Retry-After: 1\r\n");
  EXPECT_EQ(answer,
            "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/grpc\r\ngrpc-status: 8\r\n"
            "grpc-message: slow down, 100%25 busy%0A\r\nContent-Length: 0\r\nRetry-After: 1\r\n\r\n");
  EXPECT_NE(grpc_error_response(401, "").find("grpc-message: Unauthenticated\r\n"), std::string::npos);
}

TEST(GrpcContentType, KongsPrefixTest) {
  EXPECT_TRUE(is_grpc_content_type("application/grpc"));
  EXPECT_TRUE(is_grpc_content_type("application/grpc+proto"));
  EXPECT_FALSE(is_grpc_content_type("application/json"));
  EXPECT_FALSE(is_grpc_content_type("Application/GRPC"));
}

TEST(ChunkedTrailers, KeptOnlyWhenAsked) {
  const std::string body = "3\r\nabc\r\n0\r\ngrpc-status: 0\r\ngrpc-message: ok\r\n\r\n";
  for (bool keep : {false, true}) {
    ChunkedDecoder d;
    if (keep) d.keep_trailers();
    std::string_view input(body);
    while (!d.done()) {
      auto step = d.next(input);
      ASSERT_NE(step.status, ChunkedDecoder::Status::error);
      ASSERT_NE(step.status, ChunkedDecoder::Status::need_more);
      input.remove_prefix(step.consumed);
    }
    EXPECT_EQ(d.trailers(), keep ? "grpc-status: 0\r\ngrpc-message: ok\r\n" : "");
  }
}

}  // namespace
}  // namespace portico::http
