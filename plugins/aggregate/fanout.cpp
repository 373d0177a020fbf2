#include "plugins/aggregate/fanout.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <algorithm>

#include "plugin/request_context.hpp"
#include "plugins/aggregate/values.hpp"

namespace portico::plugins::aggregate {

namespace asio = boost::asio;
namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

// One call to a backend (shared by the backends that would make it identically).
struct Call {
  std::string target, body, headers;
  plugin::BackendRequest request;
  plugin::BackendResult result;
  bool done = false;
  bool cancelled = false;             // cut short once the answer was decided
  std::vector<std::size_t> backends;  // the backends waiting for it
};

// What the calls' completion handlers share with the waiting plugin.
struct Run {
  explicit Run(const asio::any_io_executor& executor) : event(executor, Clock::time_point::max()) {}
  std::vector<std::unique_ptr<Call>> calls;  // stable addresses: requests point into them
  std::vector<std::size_t> completed;       // calls finished since the plugin last looked
  asio::steady_timer event;                 // cancelled to wake the plugin
  std::vector<std::unique_ptr<asio::cancellation_signal>> cancel;  // per call
};

BackendOutcome failure(std::string error) {
  BackendOutcome o;
  o.error = std::move(error);
  return o;
}

// A backend's outcome from its call's result: a 2xx answer with a JSON body (or none).
BackendOutcome outcome_of(const plugin::BackendResult& r) {
  using R = plugin::BackendResult::Outcome;
  if (r.outcome == R::timed_out) {
    BackendOutcome o = failure(r.error.empty() ? "timed out" : r.error);
    o.state = BackendOutcome::State::timed_out;
    return o;
  }
  if (r.outcome != R::response) return failure(r.error);
  if (r.status < 200 || r.status > 299) return failure("answered " + std::to_string(r.status));
  BackendOutcome o;
  o.state = BackendOutcome::State::ok;
  if (r.body.empty()) return o;  // null
  boost::system::error_code ec;
  o.body = json::parse(r.body, ec);
  if (ec) return failure("answered with a body that is not JSON");
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
    auto v = value_at(dep.body, ref.name);
    return v ? scalar_text(*v) : std::nullopt;
  };

  plugin::BackendClient& client = *ctx.backend_client();
  auto executor = co_await asio::this_coro::executor;
  auto run = std::make_shared<Run>(executor);
  std::map<std::string, std::size_t, std::less<>> by_key;  // identical calls
  std::size_t running = 0;
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
      auto call = std::make_unique<Call>();
      call->target = std::move(target.text);
      if (backend.body_template) {
        auto body = backend.body_template->render(lookup, Template::Encoding::json_string);
        if (body.missing != nullptr) {
          finish(b, failure(body.missing->text() + " has no value"));
          continue;
        }
        call->body = std::move(body.text);
      }
      call->headers = inputs.common_headers + inputs.backend_headers[b];
      std::string key = std::to_string(to.service) + "|" + std::to_string(reinterpret_cast<std::uintptr_t>(to.fixed.get())) +
                        "|" + backend.method + " " + call->target + "\n" + call->headers + "\n" + call->body;
      if (auto same = by_key.find(key); same != by_key.end()) {
        Call& existing = *run->calls[same->second];
        if (existing.done) finish(b, outcome_of(existing.result));
        else existing.backends.push_back(b);
        continue;
      }
      plugin::BackendRequest& req = call->request;
      req.service = to.service;
      req.fixed = to.fixed.get();
      req.method = backend.method;
      req.target = call->target;
      req.header_lines = call->headers;
      req.body = call->body;
      req.content_type = "application/json";  // body templates write JSON (values JSON-escaped)
      req.deadline = std::min(deadline, Clock::now() + timeout_of(config, backend));
      req.max_body = static_cast<std::size_t>(config.max_body_size);
      call->backends.push_back(b);
      std::size_t index = run->calls.size();
      by_key.emplace(std::move(key), index);
      run->calls.push_back(std::move(call));
      run->cancel.push_back(std::make_unique<asio::cancellation_signal>());
      ++running;
      auto slot = run->cancel[index]->slot();
      asio::co_spawn(executor, client.call(ctx, run->calls[index]->request),
                     asio::bind_cancellation_slot(slot, [run, index](std::exception_ptr error, plugin::BackendResult result) {
                       Call& c = *run->calls[index];
                       if (error) result.error = "failed inside the gateway";
                       c.result = std::move(result);
                       c.done = true;
                       run->completed.push_back(index);
                       run->event.cancel();
                     }));
    }
    if (running == 0) break;
    if (abandon) {
      // The answer is decided (a required backend failed, here or in a call that came back):
      // the calls still running are cut short.
      for (std::size_t i = 0; i < run->calls.size(); ++i) {
        Call& c = *run->calls[i];
        if (c.done || c.cancelled) continue;
        c.cancelled = true;
        run->cancel[i]->emit(asio::cancellation_type::terminal);
      }
    }
    if (run->completed.empty()) {
      run->event.expires_at(Clock::time_point::max());
      co_await run->event.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    std::vector<std::size_t> completed;
    completed.swap(run->completed);
    for (std::size_t index : completed) {
      --running;
      const Call& c = *run->calls[index];
      BackendOutcome outcome = outcome_of(c.result);
      // A call cancelled before it had an answer was cut short; one that came back with an
      // answer (whatever its status) failed or succeeded on its own.
      outcome.abandoned = c.cancelled && c.result.outcome != plugin::BackendResult::Outcome::response;
      // Backends sharing the call get copies; the last one (usually the only one) takes it.
      for (std::size_t k = 0; k + 1 < c.backends.size(); ++k) finish(c.backends[k], outcome);
      finish(c.backends.back(), std::move(outcome));
    }
  }
  co_return out;
}

}  // namespace portico::plugins::aggregate
