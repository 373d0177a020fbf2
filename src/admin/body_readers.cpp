#include "admin/body_readers.hpp"

#include <algorithm>
#include <vector>

#include "http/header_view.hpp"
#include "http/params.hpp"

namespace portico::admin {

namespace json = boost::json;

namespace {

Error bad_body(std::string message) { return Error{ErrorKind::bad_request, ErrorOrigin::downstream, 400, false, std::move(message)}; }

// One step of a form key: a field name, an index (1-based), or "[]" (append).
struct Step {
  enum class Kind { name, index, append } kind = Kind::name;
  std::string name;
  std::size_t index = 0;
};

// "config.key_names[]" -> name(config), name(key_names), append.
bool split_key(std::string_view key, std::vector<Step>& steps) {
  std::size_t i = 0;
  while (i < key.size()) {
    if (key[i] == '[') {
      std::size_t close = key.find(']', i);
      if (close == std::string_view::npos) return false;
      std::string_view inside = key.substr(i + 1, close - i - 1);
      Step s;
      if (inside.empty()) {
        s.kind = Step::Kind::append;
      } else {
        s.kind = Step::Kind::index;
        for (char c : inside) {
          if (c < '0' || c > '9' || s.index > kMaxIndex) return false;
          s.index = s.index * 10 + static_cast<std::size_t>(c - '0');
        }
        if (s.index == 0 || s.index > kMaxIndex) return false;
      }
      steps.push_back(std::move(s));
      i = close + 1;
      if (i < key.size() && key[i] == '.') ++i;
      continue;
    }
    std::size_t end = key.find_first_of(".[", i);
    if (end == std::string_view::npos) end = key.size();
    if (end == i) return false;  // "a..b", ".a"
    steps.push_back({Step::Kind::name, std::string(key.substr(i, end - i)), 0});
    i = end;
    if (i < key.size() && key[i] == '.') {
      ++i;
      if (i == key.size()) return false;  // "a."
    }
  }
  return !steps.empty() && steps.size() <= kMaxDepth && steps.front().kind == Step::Kind::name;
}

// Array slots a body may create in all (an index makes the slots before it): a small body
// cannot make a large tree.
constexpr std::size_t kMaxSlots = 100000;

// The slot a non-final step leads to, creating the container it needs; null on a conflict
// or when `slots` would pass kMaxSlots.
json::value* descend(json::value& node, const Step& step, std::size_t& slots) {
  if (step.kind == Step::Kind::name) {
    if (node.is_null()) node = json::object{};
    if (!node.is_object()) return nullptr;
    return &node.as_object()[step.name];
  }
  if (node.is_null()) node = json::array{};
  if (!node.is_array()) return nullptr;
  auto& a = node.as_array();
  std::size_t wanted = step.kind == Step::Kind::append ? a.size() + 1 : std::max(a.size(), step.index);
  slots += wanted - a.size();
  if (slots > kMaxSlots) return nullptr;
  if (step.kind == Step::Kind::append) return &a.emplace_back(nullptr);
  a.resize(wanted);
  return &a[step.index - 1];
}

// Stores `value` at the final step; a repeated plain key turns into an array. An empty value
// is null, as in Kong ("config.realm=" unsets the field: its default applies).
bool store(json::value& node, const Step& step, std::string value, std::size_t& slots) {
  json::value v = value.empty() ? json::value(nullptr) : json::value(json::string(value));
  if (step.kind == Step::Kind::name) {
    if (node.is_null()) node = json::object{};
    if (!node.is_object()) return false;
    json::value& slot = node.as_object()[step.name];
    if (slot.is_null()) slot = std::move(v);
    else if (slot.is_string()) slot = json::array{slot, std::move(v)};
    else if (slot.is_array()) slot.as_array().push_back(std::move(v));
    else return false;
    return true;
  }
  json::value* slot = descend(node, step, slots);
  if (slot == nullptr || !slot->is_null()) return false;  // taken twice: "a[1]=x&a[1]=y"
  *slot = std::move(v);
  return true;
}

}  // namespace

namespace {

// Builds the JSON value from decoded (key, value) pairs with Kong's form conventions.
class FormBuilder {
 public:
  // False (and error() says why) when the pair cannot be placed.
  bool add(const std::string& key, std::string value) {
    std::vector<Step> steps;
    if (!split_key(key, steps)) {
      error_ = "invalid form field name '" + key.substr(0, 64) + "'";
      return false;
    }
    json::value* node = &root_;
    for (std::size_t i = 0; i + 1 < steps.size() && node != nullptr; ++i) node = descend(*node, steps[i], slots_);
    if (node == nullptr || !store(*node, steps.back(), std::move(value), slots_)) {
      error_ = slots_ > kMaxSlots ? "form body has too many array elements (at most " + std::to_string(kMaxSlots) + ")"
                                  : "form field '" + key.substr(0, 64) + "' conflicts with another field";
      return false;
    }
    return true;
  }
  const std::string& error() const { return error_; }
  json::value take() { return std::move(root_); }

 private:
  json::value root_ = json::object{};
  std::size_t slots_ = 0;
  std::string error_;
};

// The value of parameter `name` in a header value like `form-data; name="a"; filename=b`.
std::string_view header_param(std::string_view header, std::string_view name) {
  std::size_t pos = 0;
  while ((pos = header.find(';', pos)) != std::string_view::npos) {
    ++pos;
    while (pos < header.size() && header[pos] == ' ') ++pos;
    if (header.size() - pos > name.size() && http::iequals(header.substr(pos, name.size()), name) &&
        header[pos + name.size()] == '=') {
      std::string_view value = header.substr(pos + name.size() + 1);
      if (!value.empty() && value[0] == '"') {
        value.remove_prefix(1);
        return value.substr(0, value.find('"'));
      }
      return value.substr(0, value.find(';'));
    }
  }
  return {};
}

}  // namespace

Result<json::value> read_form_body(std::string_view body) {
  FormBuilder form;
  std::string error;
  http::for_each_query_arg(body, [&](std::string_view raw_key, std::string_view raw_value) {
    if (!error.empty()) return;
    std::string key, value;
    if (!http::percent_decode(raw_key, key) || !http::percent_decode(raw_value, value)) {
      error = "malformed percent-encoding in form field '" + std::string(raw_key.substr(0, 64)) + "'";
      return;
    }
    if (!form.add(key, std::move(value))) error = form.error();
  });
  if (!error.empty()) return bad_body(error);
  return form.take();
}

Result<json::value> read_multipart_body(std::string_view content_type, std::string_view body) {
  std::string_view boundary = header_param(content_type, "boundary");
  if (boundary.empty() || boundary.size() > 70) return bad_body("multipart/form-data body without a valid boundary");
  std::string delimiter = "--" + std::string(boundary);
  FormBuilder form;
  std::size_t pos = body.find(delimiter);
  if (pos == std::string_view::npos) return bad_body("multipart/form-data body without its boundary");
  for (;;) {
    pos += delimiter.size();
    if (body.substr(pos, 2) == "--") return form.take();  // the closing delimiter
    if (body.substr(pos, 2) != "\r\n") return bad_body("malformed multipart/form-data body");
    pos += 2;
    std::size_t head_end = body.find("\r\n\r\n", pos);
    if (head_end == std::string_view::npos) return bad_body("malformed multipart/form-data part headers");
    std::string_view head = body.substr(pos, head_end - pos);
    std::size_t next = body.find("\r\n" + delimiter, head_end + 4);
    if (next == std::string_view::npos) return bad_body("multipart/form-data body is not terminated");
    std::string_view value = body.substr(head_end + 4, next - head_end - 4);
    std::string_view name;
    std::size_t line_start = 0;
    while (line_start <= head.size()) {
      std::size_t line_end = head.find("\r\n", line_start);
      std::string_view line = head.substr(line_start, line_end == std::string_view::npos ? head.npos : line_end - line_start);
      constexpr std::string_view kDisposition = "content-disposition:";
      if (line.size() > kDisposition.size() && http::iequals(line.substr(0, kDisposition.size()), kDisposition)) {
        name = header_param(line, "name");
      }
      if (line_end == std::string_view::npos) break;
      line_start = line_end + 2;
    }
    if (name.empty()) return bad_body("multipart/form-data part without a name");
    // An empty value is null, as in url-encoded forms.
    if (!form.add(std::string(name), std::string(value))) return bad_body(form.error());
    pos = next + 2;
  }
}

RequestBody read_request_body(std::string_view content_type, std::string_view body) {
  std::string_view media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  if (http::iequals(media, "application/json")) return {read_json_body(body), schema::Input::typed};
  if (http::iequals(media, "application/x-www-form-urlencoded") || (media.empty() && body.empty())) {
    return {read_form_body(body), schema::Input::text};
  }
  if (http::iequals(media, "multipart/form-data")) return {read_multipart_body(content_type, body), schema::Input::text};
  RequestBody unsupported;
  unsupported.value = Error{ErrorKind::bad_request, ErrorOrigin::downstream, 415, false, "Unsupported Content-Type"};
  unsupported.status = 415;
  return unsupported;
}

Result<json::value> read_json_body(std::string_view body) {
  json::parse_options options;
  options.max_depth = kMaxDepth;
  boost::system::error_code ec;
  json::value v = json::parse(body, ec, {}, options);
  if (ec) return bad_body("Cannot parse JSON body");
  if (!v.is_object()) return bad_body("Cannot parse JSON body: expected an object");
  return v;
}

}  // namespace portico::admin
