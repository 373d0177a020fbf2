// The bot-detection plugin (Kong's, priority 2500): refuses requests whose User-Agent is a
// known bot (Kong's built-in list, rules.cpp) or matches a `deny` regex, unless an `allow`
// regex matches it first. See README.md.
//
//   access: one User-Agent (several: 400); none: passes unchecked; allow, then deny, then the
//           built-in list, each an unanchored search (RE2::Set: one pass per list); 403 on a hit.
#include <re2/set.h>

#include <memory>

#include "config/kong_regex.hpp"
#include "http/header_view.hpp"
#include "plugin/config_schema.hpp"
#include "plugin/request_context.hpp"
#include "plugins/bot-detection/rules.hpp"

namespace portico::plugin {
namespace {

struct BotConfig : ParsedConfig {
  std::vector<std::string> allow, deny;
};

// Kong matches with byte-based PCRE (ngx.re "jo", no UTF-8 mode): a User-Agent with bytes that
// are not UTF-8 must still match `.` and classes, so the patterns run in RE2's Latin-1 mode.
RE2::Options byte_options() {
  RE2::Options options;
  options.set_encoding(RE2::Options::EncodingLatin1);
  options.set_log_errors(false);
  return options;
}

std::string regex_problem(const std::string& pattern) {
  if (pattern.empty()) return "length must be at least 1";
  auto compiled = config::compile_kong_regex(pattern, byte_options());
  return compiled ? std::string() : "not a valid regex: " + pattern;
}

const ConfigSchema& config_schema() {
  using C = BotConfig;
  static const ConfigSchemaOf<C> schema(schema::Record<C>()
                                            .field("allow", &C::allow, {.check = regex_problem})
                                            .field("deny", &C::deny, {.check = regex_problem}));
  return schema;
}

// Patterns searched in one pass; empty sets match nothing.
class PatternSet {
 public:
  template <typename Patterns>
  explicit PatternSet(const Patterns& patterns) : set_(byte_options(), RE2::UNANCHORED) {
    for (const auto& p : patterns) {
      auto translated = config::translate_kong_regex(p);
      if (translated && set_.Add(*translated, nullptr) >= 0) ++size_;
    }
    if (size_ > 0) compiled_ = set_.Compile();
  }
  bool matches(std::string_view text) const { return compiled_ && set_.Match(text, nullptr); }

 private:
  RE2::Set set_;
  std::size_t size_ = 0;
  bool compiled_ = false;
};

const PatternSet& builtin_bots() {
  static const PatternSet set(plugins::bot_detection::builtin_bot_patterns());
  return set;
}

class BotDetection final : public Instance {
 public:
  BotDetection(const BotConfig& config, BuildContext&) : allow_(config.allow), deny_(config.deny) { builtin_bots(); }

  Access access(RequestContext& ctx) const override {
    std::string_view agent;
    int count = 0;
    for (const auto& h : ctx.request().headers) {
      if (http::iequals(h.name, "User-Agent")) agent = h.value, ++count;
    }
    if (count == 0) return Access::next;
    if (count > 1) {
      ctx.reply(400, "Only one User-Agent header allowed");
      return Access::replied;
    }
    agent = http::trim_ows(agent);
    if (allow_.matches(agent)) return Access::next;
    if (deny_.matches(agent) || builtin_bots().matches(agent)) {
      ctx.reply(403, "Forbidden");
      return Access::replied;
    }
    return Access::next;
  }

 private:
  PatternSet allow_, deny_;
};

}  // namespace

const Schema& bot_detection_schema() {
  static const Schema schema{
      .name = "bot-detection",
      .priority = 2500,  // Kong's: before every other plugin but correlation-id
      .phases = kAccess,
      .scopes = kGlobal | kService | kRoute,
      .config = &config_schema(),
      .check = nullptr,
      .instantiate = instantiate_as<BotDetection, BotConfig>,
  };
  return schema;
}

}  // namespace portico::plugin
