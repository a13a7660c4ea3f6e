#include "intake/callback_receiver.hpp"

#include "core/text.hpp"
#include "psa/cw_codec.hpp"
#include "psa/https_client.hpp"

#include <nlohmann/json.hpp>

namespace ts::intake {

namespace net = boost::asio;

namespace {

constexpr std::size_t max_cached_keys = 64;

class https_keys final : public signing_key_source {
 public:
  https_keys(net::any_io_executor ex, const config::psa_config& psa, const ts::clock& clk)
      : ex_(std::move(ex)), ca_file_(psa.ca_file), clock_(clk) {}

  net::awaitable<answer> fetch(const key_location& where) override {
    const std::string id = where.host + ":" + where.port;
    auto it = clients_.find(id);
    if (it == clients_.end()) {
      psa::client_options o;
      o.host = where.host;
      o.port = where.port;
      o.ca_file = ca_file_;
      o.connect_timeout = o.handshake_timeout = o.request_timeout = std::chrono::seconds{5};
      o.max_response_bytes = max_signing_key_answer_bytes;
      it = clients_.emplace(id, std::make_unique<psa::https_client>(ex_, o, clock_)).first;
    }
    psa::http_request req;
    req.target = where.target;
    req.headers = {{"Accept", "application/json"}};
    auto res = co_await it->second->send(std::move(req));
    if (!res) co_return answer{false, "key_url " + where.host + ": " + res.error().to_string()};
    if (res->status != 200)
      co_return answer{false, "key_url " + where.host + " answered HTTP " + std::to_string(res->status) +
                                  (res->status >= 300 && res->status < 400 ? " (redirects are not followed)" : "")};
    co_return answer{true, std::move(res->body)};
  }

 private:
  net::any_io_executor ex_;
  std::string ca_file_;
  const ts::clock& clock_;
  std::map<std::string, std::unique_ptr<psa::https_client>> clients_;
};

}  // namespace

std::unique_ptr<signing_key_source> https_key_source(net::any_io_executor ex, const config::psa_config& psa,
                                                     const ts::clock& clk) {
  return std::make_unique<https_keys>(std::move(ex), psa, clk);
}

callback_receiver::callback_receiver(std::shared_ptr<const config::config> cfg, store::store& st,
                                     store::group_commit& commits, signing_key_source& keys, ops::metrics& m,
                                     spdlog::logger& log, const ts::clock& clk, std::function<void()> on_committed)
    : cfg_(std::move(cfg)),
      store_(st),
      commits_(commits),
      keys_(keys),
      metrics_(m),
      log_(log),
      clock_(clk),
      on_committed_(std::move(on_committed)) {}

std::vector<std::string> callback_receiver::key_hosts(const config::config& cfg) {
  if (!cfg.reverse.key_hosts.empty()) return cfg.reverse.key_hosts;
  if (auto ep = psa::site_endpoint(cfg.psa.site)) return {ep->host};
  return {};
}

ops::admin_reply callback_receiver::refuse(unsigned status, std::string_view outcome, const std::string& why,
                                           const std::string& peer) {
  metrics_.add("ticketsync_callbacks_total", {{"outcome", std::string(outcome)}});
  log_.warn("callback.refused peer={} status={} outcome={} reason=\"{}\"", peer, status, outcome, why);
  auto r = ops::json_error(status, why);
  if (status == 429) r.headers.emplace_back("Retry-After", std::to_string(retry_after_seconds));
  return r;
}

net::awaitable<std::optional<std::string>> callback_receiver::signing_key(const std::string& url,
                                                                          const key_location& where, bool fresh) {
  const auto now = clock_.steady_now();
  if (!fresh) {
    if (auto it = key_cache_.find(url); it != key_cache_.end() && now - it->second.fetched < key_ttl)
      co_return it->second.key;
  }
  const signing_key_source::answer body = co_await keys_.fetch(where);
  if (!body.ok) {
    log_.warn("callback.key_fetch_failed host={} error=\"{}\"", where.host, body.text);
    co_return std::nullopt;
  }
  auto key = parse_signing_key(body.text);
  if (!key) {
    log_.warn("callback.key_fetch_failed host={} error=\"{}\"", where.host, key.error().to_string());
    co_return std::nullopt;
  }
  if (key_cache_.size() >= max_cached_keys && !key_cache_.contains(url)) {
    auto oldest = key_cache_.begin();
    for (auto it = key_cache_.begin(); it != key_cache_.end(); ++it)
      if (it->second.fetched < oldest->second.fetched) oldest = it;
    key_cache_.erase(oldest);
  }
  key_cache_[url] = cached_key{*key, now};
  co_return std::move(*key);
}

net::awaitable<ops::admin_reply> callback_receiver::post(ops::admin_request req) {
  const std::shared_ptr<const config::config> cfg = cfg_;
  if (stopping_) co_return refuse(429, "stopping", "ticketsyncd is stopping; ConnectWise retries", req.peer);
  auto cb = parse_callback(req.body, cfg->public_listener.max_body_bytes);
  if (!cb) co_return refuse(400, "malformed", cb.error().to_string(), req.peer);
  if (cb->type != "ticket")
    co_return refuse(400, "malformed", "Type: only ticket callbacks are taken, got '" + cb->type + "'", req.peer);
  if (ascii_lower(cb->company_id) != ascii_lower(cfg->psa.company_id))
    co_return refuse(403, "wrong_company", "CompanyId: not the company of psa.company_id", req.peer);
  auto where = check_key_url(cb->key_url, key_hosts(*cfg));
  if (!where) co_return refuse(403, "key_url", where.error().to_string(), req.peer);
  if (req.content_signature.empty()) co_return refuse(401, "unsigned", "no x-content-signature header", req.peer);

  auto key = co_await signing_key(cb->key_url, *where, false);
  if (!key)
    co_return refuse(429, "key_unavailable", "the signing key could not be fetched; ConnectWise retries", req.peer);
  bool valid = signature_matches(req.content_signature, *key, req.body);
  if (!valid) {
    // The key may have been rotated since it was cached: fetch it once more.
    key = co_await signing_key(cb->key_url, *where, true);
    if (!key)
      co_return refuse(429, "key_unavailable", "the signing key could not be fetched; ConnectWise retries", req.peer);
    valid = signature_matches(req.content_signature, *key, req.body);
  }
  if (!valid) co_return refuse(401, "bad_signature", "x-content-signature does not match the body", req.peer);

  enum class verdict { accepted, duplicate, ignored, full };
  verdict v = verdict::accepted;
  const std::string delivery = cb->delivery_key();
  const std::string action(to_text(cb->action));
  try {
    co_await commits_.commit([&] {
      // An "added" may come before ticketsync has stored the id of the ticket
      // it created: kept, the engine drops it if it stays unknown.
      if (cb->action != callback_action::added && store_.issues_with_ticket(cb->id).empty()) {
        v = verdict::ignored;
      } else if (store_.ticket_hint_count() >= max_queued_hints) {
        v = verdict::full;
      } else if (!store_.add_ticket_hint(delivery, cb->id, action, cb->member_id, clock_.now())) {
        v = verdict::duplicate;
      }
    });
  } catch (const std::exception& e) {
    log_.error("callback.commit_failed peer={} ticket={} error=\"{}\"", req.peer, cb->id, e.what());
    co_return refuse(429, "store_error", "the store cannot take callbacks now; ConnectWise retries", req.peer);
  }
  if (v == verdict::full)
    co_return refuse(429, "backpressure", "too many callbacks queued; ConnectWise retries", req.peer);
  const char* status = v == verdict::accepted ? "accepted" : v == verdict::duplicate ? "duplicate" : "ignored";
  metrics_.add("ticketsync_callbacks_total", {{"outcome", status}});
  log_.debug("callback.{} peer={} ticket={} action={} by={}", status, req.peer, cb->id, action, cb->member_id);
  if (v == verdict::accepted && on_committed_) on_committed_();
  ops::admin_reply r;
  r.content_type = "application/json";
  r.body = nlohmann::json{{"status", status}}.dump() + "\n";
  co_return r;
}

}  // namespace ts::intake
