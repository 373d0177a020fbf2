#include "plugin/request_context.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>

namespace portico::plugin {
namespace {

http::RequestHead request() {
  static std::string raw = "GET /a?b=c HTTP/1.1\r\nHost: a\r\n\r\n";
  http::RequestHead head;
  http::parse_request_head(raw, {}, head);
  return head;
}

struct State {
  int value = 0;
};

// reset() writes the rarely used fields only when one of them was written: a context that
// answered, read a body, kept an answer and used more state slots than it holds inline must
// come back as clean as a new one.
TEST(RequestContext, ResetClearsTheRarelyUsedFieldsAfterUse) {
  auto head = request();
  RequestContext ctx;
  ctx.begin(head, "1.2.3.4", "/a", nullptr, nullptr, nullptr);
  ctx.reply_stored(200, "X-A: 1\r\n", "body", std::make_shared<int>(1));
  ctx.request_body() = "payload";
  ctx.set_request_body_read();
  ctx.set_body_error(413, "too large");
  ctx.saved_head() = "GET / HTTP/1.1\r\n\r\n";
  ctx.kept_answer() = "HTTP/1.1 502 Bad Gateway\r\n\r\n";
  ctx.set_upstream_query("x=1");
  ctx.capture_response_body(100);
  ctx.capture_buffer() = "captured";
  ctx.set_capture_complete();
  // Twenty plugins' state: sixteen slots inline, the rest in the overflow list.
  for (int i = 0; i < 20; ++i) {
    auto* owner = reinterpret_cast<const Instance*>(static_cast<std::uintptr_t>(0x1000 + 16 * i));
    ctx.state<State>(*owner).value = i + 1;
  }
  ctx.reset();

  ctx.begin(head, "1.2.3.4", "/a", nullptr, nullptr, nullptr);
  EXPECT_EQ(ctx.reply_status(), 0);
  EXPECT_FALSE(ctx.reply_is_stored());
  EXPECT_EQ(ctx.reply_body(), "");
  EXPECT_EQ(ctx.reply_headers(), "");
  EXPECT_FALSE(ctx.request_body_read());
  EXPECT_EQ(std::as_const(ctx).request_body(), "");
  EXPECT_EQ(ctx.body_error_status(), 0);
  EXPECT_EQ(ctx.body_error(), "");
  EXPECT_FALSE(ctx.query_replaced());
  EXPECT_EQ(ctx.upstream_query(), "");
  EXPECT_EQ(ctx.capture_limit(), 0u);
  EXPECT_EQ(ctx.captured_body(), nullptr);
  for (int i = 0; i < 20; ++i) {
    auto* owner = reinterpret_cast<const Instance*>(static_cast<std::uintptr_t>(0x1000 + 16 * i));
    EXPECT_EQ(ctx.existing_state<State>(*owner), nullptr) << "slot " << i;
    EXPECT_EQ(ctx.state<State>(*owner).value, 0) << "slot " << i;
  }
  EXPECT_EQ(ctx.saved_head(), "");
  EXPECT_EQ(ctx.kept_answer(), "");
}

// The header edits live in the arena, which reset() releases: edits made after a reset (also
// after a request that edited none) must not land in memory the arena hands out again.
// Dropped response fields: any case, only the names dropped (a name of the same length, or of
// a length 64 apart, is not), the lines plugins added go too, and reset() forgets them all.
TEST(RequestContext, DroppedResponseFieldsAreMatchedByNameAndForgottenByReset) {
  auto head = request();
  RequestContext ctx;
  ctx.begin(head, "1.2.3.4", "/a", nullptr, nullptr, nullptr);
  ctx.add_response_header("X-Added", "1");
  ctx.add_response_header("X-Kept", "2");
  ctx.drop_response_header("Server");
  ctx.drop_response_header("x-added");
  EXPECT_TRUE(ctx.drops_response_header("server"));
  EXPECT_TRUE(ctx.drops_response_header("X-ADDED"));
  EXPECT_FALSE(ctx.drops_response_header("Serves"));                  // same length
  EXPECT_FALSE(ctx.drops_response_header(std::string(70, 'S')));     // length 6 + 64
  EXPECT_FALSE(ctx.drops_response_header("X-Kept"));
  EXPECT_EQ(ctx.response_headers(), "X-Kept: 2\r\n");
  ctx.reset();
  ctx.begin(head, "1.2.3.4", "/a", nullptr, nullptr, nullptr);
  EXPECT_FALSE(ctx.drops_response_headers());
  EXPECT_FALSE(ctx.drops_response_header("Server"));
}

TEST(RequestContext, HeaderEditsAfterResetUseFreshArenaMemory) {
  auto head = request();
  RequestContext ctx;
  for (int round = 0; round < 4; ++round) {
    ctx.begin(head, "1.2.3.4", "/a", nullptr, nullptr, nullptr);
    if (round != 2) {  // one request edits nothing
      for (int i = 0; i < 20; ++i) ctx.upstream_headers().set(ctx.store("X-H" + std::to_string(i)), "v");
      ctx.upstream_headers().clear();
      ctx.upstream_headers().set("X-Trace", ctx.store("t" + std::to_string(round)));
    }
    std::string_view other = ctx.store(std::string(64, 'z'));  // arena memory after the edits
    int seen = 0;
    ctx.upstream_headers().for_each_set([&](std::string_view name, std::string_view value) {
      ++seen;
      EXPECT_EQ(name, "X-Trace");
      EXPECT_EQ(value, "t" + std::to_string(round));
    });
    EXPECT_EQ(seen, round == 2 ? 0 : 1);
    EXPECT_EQ(other, std::string(64, 'z'));
    ctx.reset();
  }
}

}  // namespace
}  // namespace portico::plugin
