#include "plugin/auth.hpp"

#include "http/h1_parser.hpp"

namespace portico::plugin {

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!http::is_tchar(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

std::string realm_problem(const std::string& realm) {
  for (unsigned char c : realm) {
    if (c == '"' || c == '\\' || c < 0x20 || c == 0x7f) return "must not contain quotes, backslashes or control characters";
  }
  return {};
}

const config::ConsumerConfig* find_consumer(const config::DeclarativeConfig& config, std::string_view id_or_username) {
  for (const auto& c : config.consumers) {
    if (c.id == id_or_username || (!c.username.empty() && c.username == id_or_username)) return &c;
  }
  return nullptr;
}

void check_auth_options(const AuthOptions& options, const config::DeclarativeConfig& config, const CheckError& error) {
  if (!options.anonymous.empty() && find_consumer(config, options.anonymous) == nullptr) {
    error({}, "anonymous", "no consumer with id or username '" + options.anonymous + "'");
  }
}

Access finish_authentication(RequestContext& ctx, const config::ConsumerConfig* anonymous, Verdict verdict) {
  if (verdict == Verdict::passed) return Access::next;
  if (anonymous == nullptr) return Access::replied;
  ctx.clear_reply();
  ctx.authenticate_anonymous(*anonymous);
  return Access::next;
}

}  // namespace portico::plugin
