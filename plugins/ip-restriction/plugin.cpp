// The ip-restriction plugin (Kong's, priority 990): lets a request through by the client's
// address: refused when it is in `deny`, or when `allow` is set and it is not in it. The
// address is the one the gateway established for the request: the TCP peer, or, when the peer
// is a trusted proxy (--trusted-ips), the address it forwarded (--real-ip-header,
// --real-ip-recursive), so a client cannot pick its own by sending X-Forwarded-For.
// See README.md.
#include <boost/asio/ip/address.hpp>

#include <memory>

#include "net/cidr.hpp"
#include "plugin/config_schema.hpp"
#include "plugin/request_context.hpp"

namespace portico::plugin {
namespace {

struct IpConfig : ParsedConfig {
  std::vector<std::string> allow, deny;
  int status = -1;       // nullable: 403
  std::string message;   // nullable: "IP address not allowed: <address>"
};

std::string cidr_problem(const std::string& value) {
  return net::Cidr::parse(value) ? std::string() : "invalid ip or cidr range: '" + value + "'";
}

const ConfigSchema& config_schema() {
  using C = IpConfig;
  static const ConfigSchemaOf<C> schema(
      schema::Record<C>()
          .field("allow", &C::allow, {.check = cidr_problem})
          .field("deny", &C::deny, {.check = cidr_problem})
          // Kong takes any number and fails the request (500) when kong.response.error() refuses
          // it (outside 400-599); Portico refuses such a status at load instead.
          .field("status", &C::status, {.min = 400, .max = 599, .nullable = true})
          .field("message", &C::message, {.nullable = true})
          .check([](const C& c, schema::Errors& errors) {
            if (c.allow.empty() && c.deny.empty()) {
              errors.push_back({"", "at least one of these fields must be non-empty: 'config.allow', 'config.deny'",
                                schema::FieldError::Subject::record});
            }
          }));
  return schema;
}

std::vector<net::Cidr> parse_all(const std::vector<std::string>& list) {
  std::vector<net::Cidr> out;
  for (const auto& s : list) out.push_back(*net::Cidr::parse(s));
  return out;
}

class IpRestriction final : public Instance {
 public:
  IpRestriction(const IpConfig& config, BuildContext&)
      : allow_(parse_all(config.allow)),
        deny_(parse_all(config.deny)),
        status_(config.status > 0 ? config.status : 403),
        message_(config.message) {}

  Access access(RequestContext& ctx) const override {
    boost::system::error_code ec;
    auto address = boost::asio::ip::make_address(ctx.client_ip(), ec);
    if (ec) {
      ctx.reply(403, "Cannot identify the client IP address");
      return Access::replied;
    }
    // deny wins over allow (Kong's order); an empty allow lets through what is not denied.
    bool refused = net::any_contains(deny_, address) || (!allow_.empty() && !net::any_contains(allow_, address));
    if (!refused) return Access::next;
    ctx.reply(status_, message_.empty() ? ctx.concat({"IP address not allowed: ", ctx.client_ip()}) : std::string_view(message_));
    return Access::replied;
  }

 private:
  std::vector<net::Cidr> allow_, deny_;
  int status_;
  std::string message_;
};

}  // namespace

const Schema& ip_restriction_schema() {
  static const Schema schema{
      .name = "ip-restriction",
      .priority = 990,  // Kong's
      .phases = kAccess,
      .scopes = kGlobal | kService | kRoute | kConsumer,
      .config = &config_schema(),
      .check = nullptr,
      .instantiate = instantiate_as<IpRestriction, IpConfig>,
  };
  return schema;
}

}  // namespace portico::plugin
