#include "plugin/request_context.hpp"

#include <algorithm>
#include <cstring>
#include <re2/re2.h>

#include "http/header_lines.hpp"
#include "http/header_view.hpp"
#include "http/status.hpp"
#include "plugin/chain.hpp"
#include "router/router.hpp"

namespace portico::plugin {

void HeaderEdits::set(std::string_view name, std::string_view value) {
  bool kept = false;
  for (auto& e : edits_) {
    if (!http::iequals(e.name, name)) continue;
    if (!kept) {
      e.value = value;
      e.has_value = kept = true;
    } else {
      e.has_value = false;  // a line add() made: gone with the new value
    }
  }
  if (kept) return;
  if (edits_.empty()) edits_.reserve(kTypicalEdits);
  edits_.push_back({name, value, true});
}

void HeaderEdits::add(std::string_view name, std::string_view value) {
  if (edits_.empty()) edits_.reserve(kTypicalEdits);
  edits_.push_back({name, value, true});
}

std::string_view HeaderEdits::find(std::string_view name) const {
  for (const auto& e : edits_) {
    if (e.has_value && http::iequals(e.name, name)) return e.value;
  }
  return {};
}

void HeaderEdits::remove(std::string_view name) {
  bool found = false;
  for (auto& e : edits_) {
    if (http::iequals(e.name, name)) e.has_value = false, found = true;
  }
  if (found) return;
  if (edits_.empty()) edits_.reserve(kTypicalEdits);
  edits_.push_back({name, {}, false});
}

void HeaderEdits::remove_present(const http::RequestHead& client, std::string_view name) {
  if (client.has(name) || drops(name)) remove(name);
}

bool HeaderEdits::drops(std::string_view name) const {
  for (const auto& e : edits_) {
    if (http::iequals(e.name, name)) return true;
  }
  return false;
}

RequestContext::RequestContext()
    : arena_(initial_.data(), initial_.size()),
      upstream_headers_(&arena_),
      more_slots_(&arena_) {}

void RequestContext::begin(const http::RequestHead& request, std::string_view client_ip, std::string_view path,
                           const router::CompiledRoute* route, const config::ServiceConfig* service,
                           const Chains* chains) {
  request_ = &request;
  client_ip_ = client_ip;
  path_ = path;
  route_ = route;
  service_ = service;
  chains_ = chains;
  active_chain = chains != nullptr ? &chains->base : nullptr;
  access_index = 0;
}

void RequestContext::reset() {
  if (cold_used_) reset_cold();
  // The header edits' memory is the arena's: drop the vector's hold on it before the release.
  if (upstream_headers_.holds_memory()) upstream_headers_ = HeaderEdits(&arena_);
  arena_.release();
  slot_count_ = 0;
  request_ = nullptr;
  client_ip_ = path_ = {};
  request_id_ = request_id_header_ = {};
  server_port_ = 0;
  https_ = false;
  route_ = nullptr;
  service_ = nullptr;
  chains_ = nullptr;
  match_ = nullptr;
  backend_client_ = nullptr;
  call_tracer_ = nullptr;
  body_reader_ = nullptr;
  upstream_response_ = nullptr;
  consumer_ = nullptr;
  credential_identifier_ = verified_claims_ = {};
  response_headers_ = dropped_response_headers_ = {};
  dropped_lengths_ = 0;
  capture_max_ = 0;
  reply_status_ = 0;
  body_error_status_ = 0;
  has_credential_ = query_replaced_ = capture_complete_ = body_read_ = false;
  compress_coding_ = -1;
  active_chain = nullptr;
  access_index = 0;
  verdict = {};
  status = 0;
  served = {};
}

void RequestContext::reset_cold() {
  cold_used_ = false;
  more_slots_.clear();
  more_slots_.shrink_to_fit();  // its memory is the arena's, released next
  reply_body_ = reply_headers_ = {};
  stored_owner_.reset();
  upstream_query_ = upstream_method_ = upstream_path_ = upstream_trailers_ = {};
  response_transform_.reset();
  request_body_limit_ = 0;
  request_body_limit_status_ = 0;
  request_body_limit_message_ = {};
  body_error_ = {};
  captured_.clear();
  if (captured_.capacity() > 65536) std::string().swap(captured_);
  request_body_.clear();
  if (request_body_.capacity() > 65536) std::string().swap(request_body_);  // do not keep big bodies' memory
  saved_head_.clear();
  kept_answer_.clear();
}

std::optional<std::string_view> RequestContext::path_capture(std::string_view name) const {
  if (match_ == nullptr) return std::nullopt;
  int index = -1;
  if (!name.empty() && std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (name.size() <= 4) index = std::stoi(std::string(name));
  } else if (match_->regex != nullptr) {
    const auto& groups = match_->regex->NamedCapturingGroups();
    if (auto it = groups.find(std::string(name)); it != groups.end()) index = it->second;
  }
  if (index == 0 && match_->regex != nullptr) return path_.substr(0, std::min(match_->matched_length, path_.size()));
  if (index < 1 || static_cast<std::size_t>(index) > match_->captures.size()) return std::nullopt;
  std::string_view value = match_->captures[index - 1];
  if (value.data() == nullptr) return std::nullopt;  // the group did not take part in the match
  return value;
}

boost::asio::awaitable<bool> RequestContext::read_request_body() {
  if (body_read_) co_return true;
  if (body_reader_ == nullptr) {
    set_body_error(500, "the request body cannot be read here");
    co_return false;
  }
  bool read = co_await body_reader_->read_request_body(*this);
  co_return read;
}

std::string_view RequestContext::store(std::string_view s) {
  if (s.empty()) return {};
  char* p = static_cast<char*>(arena_.allocate(s.size(), 1));
  std::memcpy(p, s.data(), s.size());
  return {p, s.size()};
}

std::string_view RequestContext::concat(std::initializer_list<std::string_view> parts) {
  std::size_t n = 0;
  for (auto part : parts) n += part.size();
  if (n == 0) return {};
  char* p = static_cast<char*>(arena_.allocate(n, 1));
  std::size_t at = 0;
  for (auto part : parts) {
    if (part.empty()) continue;
    std::memcpy(p + at, part.data(), part.size());
    at += part.size();
  }
  return {p, n};
}

void* RequestContext::find_slot(const Instance* owner) const {
  std::size_t inline_count = std::min(slot_count_, slots_.size());
  for (std::size_t i = 0; i < inline_count; ++i) {
    if (slots_[i].owner == owner) return slots_[i].state;
  }
  if (slot_count_ <= slots_.size()) return nullptr;
  for (const auto& slot : more_slots_) {
    if (slot.owner == owner) return slot.state;
  }
  return nullptr;
}

void RequestContext::add_slot(const Instance* owner, void* state) {
  if (slot_count_ < slots_.size()) slots_[slot_count_] = {owner, state};
  else touch_cold(), more_slots_.push_back({owner, state});  // rare: many stateful plugins on one route
  ++slot_count_;
}

void RequestContext::authenticate(const config::ConsumerConfig& consumer, std::string_view credential_identifier) {
  consumer_ = &consumer;
  has_credential_ = true;
  credential_identifier_ = credential_identifier;
  set_identity_headers();
}

void RequestContext::authenticate_without_consumer(std::string_view credential_identifier) {
  consumer_ = nullptr;
  has_credential_ = true;
  credential_identifier_ = credential_identifier;
  set_identity_headers();
}

void RequestContext::authenticate_anonymous(const config::ConsumerConfig& consumer) {
  consumer_ = &consumer;
  has_credential_ = false;
  credential_identifier_ = {};
  set_identity_headers();
}

void RequestContext::set_identity_headers() {
  // Kong's set_consumer(): every identity header is either set by Portico or removed, so a
  // client can never pass its own copy through.
  auto set_or_remove = [this](std::string_view name, std::string_view value) {
    if (value.empty()) upstream_headers_.remove_present(*request_, name);
    else upstream_headers_.set(name, value);
  };
  static const config::ConsumerConfig kNobody;
  const config::ConsumerConfig& c = consumer_ != nullptr ? *consumer_ : kNobody;
  set_or_remove("X-Consumer-ID", c.id);
  set_or_remove("X-Consumer-Custom-ID", c.custom_id);
  set_or_remove("X-Consumer-Username", c.username);
  set_or_remove("X-Credential-Identifier", has_credential_ ? credential_identifier_ : std::string_view{});
  set_or_remove("X-Anonymous-Consumer", has_credential_ ? std::string_view{} : std::string_view("true"));
  // Group headers are only ever Portico's (acl sets X-Consumer-Groups after this): a client's
  // copy must not reach a service that trusts it.
  upstream_headers_.remove_present(*request_, "X-Consumer-Groups");
  upstream_headers_.remove_present(*request_, "X-Authenticated-Groups");
}

void RequestContext::reply(int status, std::string_view message, std::string_view extra_headers) {
  std::string body = "{\"message\":\"";
  http::append_json_escaped(body, message);
  body += "\"}";
  reply_json(status, body, extra_headers);
}

void RequestContext::reply_json(int status, std::string_view json_body, std::string_view extra_headers) {
  touch_cold();
  reply_status_ = status;
  reply_body_ = store(json_body);
  reply_headers_ = store(extra_headers);
}

void RequestContext::reply_stored(int status, std::string_view header_lines, std::string_view body,
                                  std::shared_ptr<const void> owner) {
  touch_cold();
  reply_status_ = status;
  reply_headers_ = header_lines;
  reply_body_ = body;
  stored_owner_ = std::move(owner);
}

void RequestContext::add_response_header(std::string_view name, std::string_view value) {
  response_headers_ = concat({response_headers_, name, ": ", value, "\r\n"});
}

std::string_view RequestContext::response_header(std::string_view name, bool& present) const {
  std::string_view found;
  present = false;
  http::for_each_header_line(response_headers_, [&](std::string_view field, std::string_view value, std::string_view) {
    if (!present && http::iequals(field, name)) found = value, present = true;
  });
  if (present || upstream_response_ == nullptr || drops_response_header(name)) return found;
  present = upstream_response_->has(name);
  return upstream_response_->find(name);
}

void RequestContext::drop_response_header(std::string_view name) {
  if (!drops_response_header(name)) {
    dropped_response_headers_ = concat({dropped_response_headers_, name, "\n"});
    dropped_lengths_ |= std::uint64_t{1} << (name.size() & 63);
  }
  // Lines plugins added so far go too: the name is added again only by later calls.
  if (response_headers_.empty()) return;
  std::string kept;
  http::for_each_header_line(response_headers_, [&](std::string_view field, std::string_view, std::string_view line) {
    if (!http::iequals(field, name)) kept.append(line);
  });
  if (kept.size() != response_headers_.size()) response_headers_ = store(kept);
}

bool RequestContext::dropped_among(std::string_view name) const {
  for (std::string_view rest = dropped_response_headers_; !rest.empty();) {
    std::size_t end = rest.find('\n');
    if (http::iequals(rest.substr(0, end), name)) return true;
    rest.remove_prefix(end + 1);
  }
  return false;
}

void RequestContext::add_response_header_lines(std::string_view lines) {
  response_headers_ = response_headers_.empty() ? store(lines) : concat({response_headers_, lines});
}

ContextPool::Lease ContextPool::take() {
  RequestContext* ctx = nullptr;
  if (free_.empty()) {
    ctx = new RequestContext();
  } else {
    ctx = free_.back();
    free_.pop_back();
  }
  return Lease(ctx, Return{this});
}

void ContextPool::give_back(RequestContext* ctx) {
  ctx->reset();
  // Keep a bounded number for reuse; a burst's surplus is freed.
  if (free_.size() < 1024) free_.push_back(ctx);
  else delete ctx;
}

ContextPool::~ContextPool() {
  for (auto* ctx : free_) delete ctx;
}

}  // namespace portico::plugin
