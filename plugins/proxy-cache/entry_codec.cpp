#include "plugins/proxy-cache/entry_codec.hpp"

#include <cstdint>

namespace portico::plugins::cache {
namespace {

constexpr std::string_view kMagic = "PCE1";

class Writer {
 public:
  explicit Writer(std::string& out) : out_(out) {}
  void integer(std::int64_t v) {
    auto u = static_cast<std::uint64_t>(v);
    for (int shift = 56; shift >= 0; shift -= 8) out_.push_back(static_cast<char>((u >> shift) & 0xff));
  }
  void text(std::string_view s) {
    auto n = static_cast<std::uint32_t>(s.size());
    for (int shift = 24; shift >= 0; shift -= 8) out_.push_back(static_cast<char>((n >> shift) & 0xff));
    out_.append(s);
  }

 private:
  std::string& out_;
};

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool integer(std::int64_t& v) {
    if (in_.size() < 8) return false;
    std::uint64_t u = 0;
    for (int i = 0; i < 8; ++i) u = (u << 8) | static_cast<unsigned char>(in_[static_cast<std::size_t>(i)]);
    in_.remove_prefix(8);
    v = static_cast<std::int64_t>(u);
    return true;
  }
  bool text(std::string& s) {
    if (in_.size() < 4) return false;
    std::uint32_t n = 0;
    for (int i = 0; i < 4; ++i) n = (n << 8) | static_cast<unsigned char>(in_[static_cast<std::size_t>(i)]);
    in_.remove_prefix(4);
    if (in_.size() < n) return false;
    s.assign(in_.substr(0, n));
    in_.remove_prefix(n);
    return true;
  }
  bool done() const { return in_.empty(); }
  std::size_t left() const { return in_.size(); }

 private:
  std::string_view in_;
};

}  // namespace

std::string encode_entry(const CachedResponse& e) {
  std::string out;
  out.reserve(e.cost() + 128);
  out.append(kMagic);
  Writer w(out);
  for (std::string_view s : {std::string_view(e.key), std::string_view(e.key_hex), std::string_view(e.path)}) w.text(s);
  w.integer(e.status);
  w.text(e.headers);
  w.text(e.body);
  for (std::int64_t v : {e.stored_at_ms, e.fresh_until_ms, e.keep_until_ms, e.initial_age}) w.integer(v);
  w.text(e.etag);
  w.integer(e.last_modified);
  w.integer(static_cast<std::int64_t>(e.vary.size()));
  for (const auto& [name, value] : e.vary) {
    w.text(name);
    w.text(value);
  }
  w.integer(e.must_revalidate ? 1 : 0);
  return out;
}

std::shared_ptr<const CachedResponse> decode_entry(std::string_view bytes) {
  if (!bytes.starts_with(kMagic)) return nullptr;
  Reader r(bytes.substr(kMagic.size()));
  auto e = std::make_shared<CachedResponse>();
  std::int64_t status = 0, pairs = 0, must_revalidate = 0;
  bool ok = r.text(e->key) && r.text(e->key_hex) && r.text(e->path) && r.integer(status) && r.text(e->headers) &&
            r.text(e->body) && r.integer(e->stored_at_ms) && r.integer(e->fresh_until_ms) && r.integer(e->keep_until_ms) &&
            r.integer(e->initial_age) && r.text(e->etag) && r.integer(e->last_modified) && r.integer(pairs);
  // Each pair takes at least 8 bytes: a count beyond what is left is not this format.
  if (!ok || status < 100 || status > 999 || pairs < 0 || static_cast<std::uint64_t>(pairs) > r.left() / 8) return nullptr;
  e->status = static_cast<int>(status);
  for (std::int64_t i = 0; i < pairs; ++i) {
    std::string name, value;
    if (!r.text(name) || !r.text(value)) return nullptr;
    e->vary.emplace_back(std::move(name), std::move(value));
  }
  if (!r.integer(must_revalidate) || (must_revalidate != 0 && must_revalidate != 1) || !r.done()) return nullptr;
  e->must_revalidate = must_revalidate == 1;
  return e;
}

}  // namespace portico::plugins::cache
