// libFuzzer target: what the openid-connect plugin reads back from a browser: its cookies out
// of the Cookie header(s), the sealed value (crypto/sealed_box), and the session and pre-login
// JSON inside. Beyond "no crash, no sanitizer report":
//   - a cookie read back is a part of the header's bytes, or (chunked) a join of full chunks
//     and a last one, at most kMaxCookieChunks of them;
//   - a value that opens under the key was sealed by it: random input never opens (the AEAD
//     tag), and what seal() makes always opens to the same bytes;
//   - a session or pre-login that decodes encodes to JSON that decodes to the same fields
//     (numbers to 1e-12: tests/fuzz/json_close.hpp).
// The first input byte picks the reader. Built by tests/fuzz/run.sh.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "crypto/sealed_box.hpp"
#include "plugins/openid-connect/cookies.hpp"
#include "plugins/openid-connect/session.hpp"
#include "tests/fuzz/json_close.hpp"

namespace {

using namespace portico::plugins::openid_connect;
using portico::fuzz::close_numbers;
using portico::fuzz::json_close;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

const portico::crypto::SealedBox& box() {
  static const portico::crypto::SealedBox sealed({"fuzzing secret one", "an older secret"}, "session");
  return sealed;
}

void cookie(std::string_view headers) {
  int chunks = 0;
  std::string joined;
  auto value = read_cookie(headers, "session", chunks, joined);
  if (!value) {
    check(chunks == 0);
    return;
  }
  check(chunks >= 1 && chunks <= kMaxCookieChunks);
  if (chunks == 1) {
    check(headers.find(*value) != std::string_view::npos);
  } else {  // full chunks, then the last one, which may be full too
    check(value->size() > static_cast<std::size_t>(chunks - 1) * kCookieChunk);
    check(value->size() <= static_cast<std::size_t>(chunks) * kCookieChunk);
  }
}

void sealed(std::string_view text) {
  // Random bytes must not open: a forged value would take 2^-128 luck.
  check(!box().open(text).has_value());
  std::string sealed_text = box().seal(text);
  auto opened = box().open(sealed_text, sealed_text.size());
  check(opened.has_value() && *opened == text);
}

void session(std::string_view json) {
  if (auto s = decode_session(json)) {
    auto again = decode_session(encode(*s));
    check(again.has_value());
    check(again->subject == s->subject && json_close(again->claims, s->claims) && again->access_token == s->access_token &&
          again->refresh_token == s->refresh_token && again->id_token == s->id_token && close_numbers(again->created, s->created) &&
          close_numbers(again->renewed, s->renewed) && close_numbers(again->seen, s->seen) && close_numbers(again->access_expires, s->access_expires));
  }
  if (auto p = decode_pre_login(json)) {
    auto again = decode_pre_login(encode(*p));
    check(again.has_value());
    check(again->state == p->state && again->nonce == p->nonce && again->code_verifier == p->code_verifier &&
          again->return_to == p->return_to && close_numbers(again->created, p->created));
  }
  (void)is_same_site_path(json);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::string_view input(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 3) {
    case 0: cookie(input); break;
    case 1: sealed(input); break;
    default: session(input); break;
  }
  return 0;
}
