#include "intake/event_api.hpp"

#include "sources/event_parser.hpp"

#include <openssl/crypto.h>
#include <nlohmann/json.hpp>

namespace ts::intake {

namespace net = boost::asio;
using json = nlohmann::json;

event_api::event_api(const config::admin_config& cfg, std::string token, store::store& st, store::group_commit& commits,
                     ops::metrics& m, spdlog::logger& log, const ts::clock& clk, std::function<void()> on_committed)
    : cfg_(cfg),
      token_(std::move(token)),
      store_(st),
      commit_(commits),
      metrics_(m),
      log_(log),
      clock_(clk),
      on_committed_(std::move(on_committed)) {}

bool event_api::authorized(const ops::admin_request& req) const {
  if (!req.over_tcp) return true;  // the unix socket: its file permissions decide
  if (token_.empty()) return false;
  constexpr std::string_view scheme = "Bearer ";
  const std::string_view h = req.authorization;
  if (h.size() != scheme.size() + token_.size() || h.substr(0, scheme.size()) != scheme) return false;
  return CRYPTO_memcmp(h.data() + scheme.size(), token_.data(), token_.size()) == 0;
}

void event_api::reject(std::string_view reason, double n) {
  rejected_ += static_cast<std::uint64_t>(n);
  metrics_.add("ticketsync_events_rejected_total", {{"via", "api"}, {"reason", std::string(reason)}}, n);
}

std::int64_t event_api::inbox_depth() {
  // Counted at most once a second; requests in between add what they stored.
  const auto now = clock_.steady_now();
  if (now - depth_at_ >= std::chrono::seconds{1}) {
    depth_ = store_.inbox_depth();
    depth_at_ = now;
  }
  return depth_;
}

net::awaitable<ops::admin_reply> event_api::post(ops::admin_request req) {
  if (!authorized(req)) {
    reject("unauthorized");
    log_.warn("intake.rejected via=api peer={} reason=unauthorized", req.peer);
    auto r = ops::json_error(401, "missing or wrong bearer token (admin.token)");
    r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"ticketsync\"");
    co_return r;
  }
  auto busy = [&](std::string_view reason, std::string_view why) {
    reject(reason);
    auto r = ops::json_error(503, why);
    r.headers.emplace_back("Retry-After", std::to_string(retry_after_seconds));
    return r;
  };
  if (stopping_) co_return busy("stopping", "ticketsyncd is stopping; send again later");
  if (inbox_depth() >= static_cast<std::int64_t>(cfg_.max_inbox_depth)) {
    log_.warn("intake.backpressure via=api peer={} inbox={} limit={}", req.peer, depth_, cfg_.max_inbox_depth);
    co_return busy("backpressure", "the inbox is full (admin.max_inbox_depth); send again later");
  }

  auto batch = parse_event_batch(req.body, max_batch);
  if (!batch) {
    const batch_error& e = batch.error();
    reject(e.error.field.empty() ? "invalid_json" : "invalid_field");
    log_.warn("intake.rejected via=api peer={} reason=\"{}\"", req.peer, e.to_string());
    json body = {{"error", e.to_string()}};
    if (e.index) body["index"] = *e.index;
    if (!e.error.field.empty()) body["field"] = e.error.field;
    ops::admin_reply r;
    r.status = 400;
    r.content_type = "application/json";
    r.body = body.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
    co_return r;
  }

  std::vector<store::inbox_entry> entries;
  entries.reserve(batch->size());
  const std::string origin = "api:" + req.peer;
  for (auto& text : *batch) entries.push_back(store::inbox_entry{origin, std::move(text)});
  try {
    co_await commit_.commit([&] { store_.inbox_append(entries, clock_.now()); });
  } catch (const std::exception& e) {
    // Nothing was stored (the transaction rolled back): the client sends again.
    log_.error("intake.commit_failed via=api peer={} events={} error=\"{}\"", req.peer, entries.size(), e.what());
    co_return busy("store_error", "the event store cannot take events now; send again later");
  }
  depth_ += static_cast<std::int64_t>(entries.size());
  accepted_ += entries.size();
  metrics_.add("ticketsync_events_received_total", {{"via", "api"}}, static_cast<double>(entries.size()));
  if (on_committed_) on_committed_();
  ops::admin_reply r;
  r.status = 202;
  r.content_type = "application/json";
  r.body = "{\"accepted\":" + std::to_string(entries.size()) + "}\n";
  co_return r;
}

}  // namespace ts::intake
