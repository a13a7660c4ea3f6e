#include "ops/admin_routes.hpp"

#include "core/text.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace ts::ops {

admin_reply json_error(unsigned status, std::string_view message) {
  admin_reply r;
  r.status = status;
  r.content_type = "application/json";
  r.body = json_text(nlohmann::json{{"error", message}}) + "\n";
  return r;
}

routed route_admin(const admin_request& req) {
  const std::string path = req.target.substr(0, req.target.find('?'));
  if (path == "/v1/events") {
    if (req.method == "POST") return {admin_route::events, {}};
    auto r = json_error(405, "use POST");
    r.headers.emplace_back("Allow", "POST");
    return {std::nullopt, std::move(r)};
  }
  const bool known = path == "/metrics" || path == "/healthz" || path == "/readyz";
  if (!known && req.method != "GET" && req.method != "HEAD" && req.method != "POST") {
    auto r = json_error(405, "no such method here; use GET or HEAD (POST for /v1/events)");
    r.headers.emplace_back("Allow", "GET, HEAD, POST");
    return {std::nullopt, std::move(r)};
  }
  if (!known) return {std::nullopt, json_error(404, "not found; try /metrics, /healthz, /readyz or POST /v1/events")};
  if (req.method != "GET" && req.method != "HEAD") {
    auto r = json_error(405, "use GET");
    r.headers.emplace_back("Allow", "GET, HEAD");
    return {std::nullopt, std::move(r)};
  }
  if (path == "/metrics") return {admin_route::metrics, {}};
  if (path == "/healthz") return {admin_route::healthz, {}};
  return {admin_route::readyz, {}};
}

admin_reply readiness_reply(const readiness& r) {
  nlohmann::json checks = nlohmann::json::object();
  checks["store"] = r.store_error ? "failed: " + *r.store_error : std::string("ok");
  checks["psa"] = r.psa_state;
  const bool psa_ok = r.psa_state == "connected";
  if (!psa_ok && !r.psa_error.empty()) checks["psa_error"] = r.psa_error;
  const bool ready = !r.store_error && psa_ok;
  admin_reply out;
  out.status = ready ? 200 : 503;
  out.content_type = "application/json";
  out.body = json_text(nlohmann::json{{"ready", ready}, {"checks", checks}}) + "\n";
  return out;
}

admin_reply metrics_reply(std::string text) {
  return admin_reply{200, "text/plain; version=0.0.4; charset=utf-8", std::move(text), {}};
}

admin_reply healthz_reply() { return admin_reply{200, "text/plain; charset=utf-8", "ok\n", {}}; }

bool client_rate_limit::allow(const std::string& client, std::chrono::steady_clock::time_point now) {
  auto it = buckets_.find(client);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_clients) {
      auto idlest = buckets_.begin();
      for (auto b = buckets_.begin(); b != buckets_.end(); ++b)
        if (b->second.at < idlest->second.at) idlest = b;
      buckets_.erase(idlest);
    }
    it = buckets_.emplace(client, bucket{rate_, now}).first;
  }
  bucket& b = it->second;
  const double elapsed = std::chrono::duration<double>(now - b.at).count();
  if (elapsed > 0) b.tokens = std::min(rate_, b.tokens + elapsed * rate_);
  b.at = std::max(b.at, now);
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

}  // namespace ts::ops
