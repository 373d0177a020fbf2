#include "plugins/aggregate/fanout.hpp"

#include <boost/asio/this_coro.hpp>
#include <boost/json.hpp>

#include <algorithm>

#include "plugin/calls/answer.hpp"
#include "plugin/calls/call_group.hpp"
#include "plugin/calls/values.hpp"
#include "plugin/request_context.hpp"

namespace portico::plugins::aggregate {

namespace asio = boost::asio;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

BackendOutcome failure(std::string error) {
  BackendOutcome o;
  o.error = std::move(error);
  return o;
}

// A backend's outcome from its call's result: a 2xx answer with a JSON body (or none).
BackendOutcome outcome_of(const plugin::BackendResult& r) {
  calls::Answer answer = calls::read_answer(r);
  BackendOutcome o;
  if (!answer.ok) {
    o.error = std::move(answer.error);
    if (answer.timed_out) o.state = BackendOutcome::State::timed_out;
    return o;
  }
  o.state = BackendOutcome::State::ok;
  o.body = std::move(answer.body);
  return o;
}

std::size_t index_of(const AggregateConfig& config, std::string_view name) {
  for (std::size_t i = 0; i < config.backends.size(); ++i) {
    if (config.backends[i].name == name) return i;
  }
  return config.backends.size();
}

std::chrono::milliseconds timeout_of(const AggregateConfig& config, const BackendConfig& b) {
  return std::chrono::milliseconds(b.timeout > 0 ? b.timeout : config.timeout);
}

bool is_client_source(std::string_view source) { return source == "body" || calls::is_client_source(source); }

}  // namespace

asio::awaitable<std::vector<BackendOutcome>> run_fanout(const AggregateConfig& config,
                                                        const std::vector<Destination>& destinations,
                                                        plugin::RequestContext& ctx, const RequestInputs& inputs,
                                                        Clock::time_point deadline) {
  const std::size_t n = config.backends.size();
  std::vector<BackendOutcome> out(n);
  std::vector<int> waiting(n, 0);                    // dependencies not finished yet
  std::vector<std::vector<std::size_t>> dependents(n);
  for (std::size_t i = 0; i < n; ++i) {
    for (const auto& dep : config.backends[i].depends_on) {
      dependents[index_of(config, dep)].push_back(i);
      ++waiting[i];
    }
  }
  std::vector<std::size_t> ready;
  for (std::size_t i : config.order) {
    if (waiting[i] == 0) ready.push_back(i);
  }
  bool abandon = false;  // a required backend failed: the answer is decided
  auto finish = [&](std::size_t b, BackendOutcome outcome) {
    if (outcome.state != BackendOutcome::State::ok && config.backends[b].required) abandon = true;
    out[b] = std::move(outcome);
    for (std::size_t d : dependents[b]) {
      if (--waiting[d] == 0) ready.push_back(d);
    }
  };
  // Template values: the client's (gathered up front) and earlier backends' answers.
  auto lookup = [&](const Reference& ref) -> std::optional<std::string> {
    if (is_client_source(ref.source)) {
      auto it = inputs.values.find(ref.text());
      if (it == inputs.values.end()) return std::nullopt;
      return it->second;
    }
    const BackendOutcome& dep = out[index_of(config, ref.source)];
    auto v = calls::value_at(dep.body, ref.name);
    return v ? calls::scalar_text(*v) : std::nullopt;
  };

  auto executor = co_await asio::this_coro::executor;
  plugin::CallGroup group(ctx, executor);
  std::vector<std::vector<std::size_t>> waiting_backends;  // per call: the backends it answers
  std::vector<bool> call_done;
  std::map<std::string, std::size_t, std::less<>> by_key;  // identical calls
  for (;;) {
    while (!ready.empty()) {
      std::size_t b = ready.front();
      ready.erase(ready.begin());
      if (abandon) {
        BackendOutcome skipped = failure("not called: the answer had already failed");
        skipped.abandoned = true;
        finish(b, std::move(skipped));
        continue;
      }
      const BackendConfig& backend = config.backends[b];
      const Destination& to = destinations[b];
      auto failed_dep = std::find_if(backend.depends_on.begin(), backend.depends_on.end(), [&](const std::string& d) {
        return out[index_of(config, d)].state != BackendOutcome::State::ok;
      });
      if (failed_dep != backend.depends_on.end()) {
        finish(b, failure("depends on '" + *failed_dep + "', which failed"));
        continue;
      }
      auto target = to.target->render(lookup, Template::Encoding::url);
      if (target.missing != nullptr) {
        finish(b, failure(target.missing->text() + " has no value"));
        continue;
      }
      plugin::CallGroup::Outgoing call;
      call.target = std::move(target.text);
      if (backend.body_template) {
        auto body = backend.body_template->render(lookup, Template::Encoding::json_string);
        if (body.missing != nullptr) {
          finish(b, failure(body.missing->text() + " has no value"));
          continue;
        }
        call.body = std::move(body.text);
      }
      call.header_lines = inputs.common_headers + inputs.backend_headers[b];
      std::string key = std::to_string(to.service) + "|" + std::to_string(reinterpret_cast<std::uintptr_t>(to.fixed.get())) +
                        "|" + backend.method + " " + call.target + "\n" + call.header_lines + "\n" + call.body;
      if (auto same = by_key.find(key); same != by_key.end()) {
        if (call_done[same->second]) finish(b, outcome_of(group.result(same->second)));
        else waiting_backends[same->second].push_back(b);
        continue;
      }
      plugin::BackendRequest& req = call.request;
      req.service = to.service;
      req.fixed = to.fixed.get();
      req.method = backend.method;
      req.content_type = "application/json";  // body templates write JSON (values JSON-escaped)
      req.deadline = std::min(deadline, Clock::now() + timeout_of(config, backend));
      req.max_body = static_cast<std::size_t>(config.max_body_size);
      by_key.emplace(std::move(key), group.start(std::move(call)));
      waiting_backends.push_back({b});
      call_done.push_back(false);
    }
    if (group.running() == 0) break;
    // The answer is decided (a required backend failed, here or in a call that came back):
    // the calls still running are cut short.
    if (abandon) group.cancel_all();
    const std::vector<std::size_t> completed = co_await group.next();
    for (std::size_t index : completed) {
      call_done[index] = true;
      const plugin::BackendResult& result = group.result(index);
      BackendOutcome outcome = outcome_of(result);
      // A call cancelled before it had an answer was cut short; one that came back with an
      // answer (whatever its status) failed or succeeded on its own.
      outcome.abandoned = group.cancelled(index) && result.outcome != plugin::BackendResult::Outcome::response;
      // Backends sharing the call get copies; the last one (usually the only one) takes it.
      const auto& backends = waiting_backends[index];
      for (std::size_t k = 0; k + 1 < backends.size(); ++k) finish(backends[k], outcome);
      finish(backends.back(), std::move(outcome));
    }
  }
  co_return out;
}

}  // namespace portico::plugins::aggregate
