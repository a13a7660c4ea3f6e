#include "ops/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace ts::ops {
namespace {

bool valid_name(std::string_view n) {
  if (n.empty()) return false;
  auto first = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':'; };
  if (!first(n.front())) return false;
  return std::all_of(n.begin(), n.end(), [&](char c) { return first(c) || (c >= '0' && c <= '9'); });
}

bool valid_label_name(std::string_view n) {
  return valid_name(n) && n.find(':') == std::string_view::npos && n.substr(0, 2) != "__";
}

std::string_view type_name(metrics::type t) {
  switch (t) {
    case metrics::type::counter: return "counter";
    case metrics::type::gauge: return "gauge";
    case metrics::type::histogram: return "histogram";
  }
  return "untyped";
}

void escape_into(std::string& out, std::string_view v, bool quote) {
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '"' && quote)
      out += "\\\"";
    else
      out += c;
  }
}

// Labels with one more pair appended (the histogram's `le`).
std::string labels_with(const std::string& rendered, std::string_view name, std::string_view value) {
  std::string out = rendered.empty() ? "{" : rendered.substr(0, rendered.size() - 1) + ",";
  out.append(name).append("=\"").append(value).append("\"}");
  return out;
}

}  // namespace

std::string render_labels(const labels& l) {
  if (l.empty()) return {};
  std::string out = "{";
  for (std::size_t i = 0; i < l.size(); ++i) {
    if (!valid_label_name(l[i].first)) throw std::logic_error("metrics: bad label name '" + l[i].first + "'");
    if (i != 0) out += ',';
    out += l[i].first;
    out += "=\"";
    escape_into(out, l[i].second, true);
    out += '"';
  }
  out += '}';
  return out;
}

std::string render_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
    return buf;
  }
  // The shortest text that reads back as the same double (0.1, not 0.10000000000000001).
  const auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return ec == std::errc{} ? std::string(buf, end) : std::string("NaN");
}

std::vector<double> metrics::latency_buckets() { return {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}; }

void metrics::declare(std::string name, type t, std::string help, std::vector<double> buckets) {
  if (!valid_name(name)) throw std::logic_error("metrics: bad metric name '" + name + "'");
  if (t == type::counter && !(name.size() > 6 && name.ends_with("_total")))
    throw std::logic_error("metrics: counter '" + name + "' must end in _total");
  if (t == type::histogram && (buckets.empty() || !std::is_sorted(buckets.begin(), buckets.end()) ||
                               std::adjacent_find(buckets.begin(), buckets.end()) != buckets.end()))
    throw std::logic_error("metrics: histogram '" + name + "' needs ascending buckets");
  if (t != type::histogram) buckets.clear();
  family f;
  f.t = t;
  f.help = std::move(help);
  f.bounds = std::move(buckets);
  if (!families_.emplace(std::move(name), std::move(f)).second) throw std::logic_error("metrics: declared twice");
}

metrics::family& metrics::get(std::string_view name, type t) {
  auto it = families_.find(name);
  if (it == families_.end()) throw std::logic_error("metrics: undeclared '" + std::string(name) + "'");
  if (it->second.t != t && !(t == type::gauge && it->second.t == type::counter))
    throw std::logic_error("metrics: '" + std::string(name) + "' used as the wrong type");
  return it->second;
}

metrics::series& metrics::at(std::string_view name, type t, const labels& l) {
  family& f = get(name, t);
  series& s = f.by_labels[render_labels(l)];
  if (f.t == type::histogram && s.buckets.empty()) s.buckets.assign(f.bounds.size(), 0);
  return s;
}

void metrics::add(std::string_view name, const labels& l, double v) {
  if (!(v >= 0)) throw std::logic_error("metrics: counters only go up");
  at(name, type::counter, l).value += v;
}

void metrics::set(std::string_view name, const labels& l, double v) { at(name, type::gauge, l).value = v; }

void metrics::observe(std::string_view name, const labels& l, double v) {
  const family& f = get(name, type::histogram);
  series& s = at(name, type::histogram, l);
  const auto i = static_cast<std::size_t>(std::lower_bound(f.bounds.begin(), f.bounds.end(), v) - f.bounds.begin());
  if (i < s.buckets.size()) ++s.buckets[i];
  s.sum += v;
  ++s.count;
}

double metrics::value(std::string_view name, const labels& l) const {
  auto it = families_.find(name);
  if (it == families_.end()) return 0;
  auto s = it->second.by_labels.find(render_labels(l));
  return s == it->second.by_labels.end() ? 0 : s->second.value;
}

std::string metrics::render() const {
  std::string out;
  out.reserve(families_.size() * 160);
  for (const auto& [name, f] : families_) {
    out += "# HELP " + name + " ";
    escape_into(out, f.help, false);
    out += "\n# TYPE " + name + " ";
    out += type_name(f.t);
    out += '\n';
    for (const auto& [lbl, s] : f.by_labels) {
      if (f.t != type::histogram) {
        out += name + lbl + " " + render_value(s.value) + "\n";
        continue;
      }
      std::uint64_t cumulative = 0;
      for (std::size_t i = 0; i < f.bounds.size(); ++i) {
        cumulative += s.buckets[i];
        out += name + "_bucket" + labels_with(lbl, "le", render_value(f.bounds[i])) + " " + std::to_string(cumulative) +
               "\n";
      }
      out += name + "_bucket" + labels_with(lbl, "le", "+Inf") + " " + std::to_string(s.count) + "\n";
      out += name + "_sum" + lbl + " " + render_value(s.sum) + "\n";
      out += name + "_count" + lbl + " " + std::to_string(s.count) + "\n";
    }
  }
  return out;
}

void declare_ticketsync_metrics(metrics& m) {
  using t = metrics::type;
  m.declare("ticketsync_events_received_total", t::counter,
            "Events committed to the inbox, by intake path (spool, api).");
  m.declare("ticketsync_events_rejected_total", t::counter,
            "Events refused, by intake path and reason: api invalid_json, invalid_field, unauthorized, "
            "backpressure, store_error, stopping; spool invalid_file. (A body over admin.max_body_size is "
            "answered 413 before it is read, and not counted.)");
  m.declare("ticketsync_inbox_depth", t::gauge, "Events committed but not yet planned.");
  m.declare("ticketsync_held_events", t::gauge, "Events held for a tenant with no company mapping.");
  m.declare("ticketsync_outbox_pending", t::gauge, "Ticket operations waiting to be sent (due or in backoff).");
  m.declare("ticketsync_operations_in_flight", t::gauge, "Ticket operations being executed now.");
  m.declare("ticketsync_dead_letters", t::gauge, "Operations given up and waiting for an operator (deadletter list).");
  m.declare("ticketsync_operations_total", t::counter,
            "Ticket operations by kind (create, update, note, close, reopen) and outcome (done, skipped, retry, "
            "dead).");
  m.declare("ticketsync_tickets_created_total", t::counter, "Tickets created (adopted ones excluded).");
  m.declare("ticketsync_retries_total", t::counter, "Failed attempts scheduled for a retry.");
  m.declare("ticketsync_recovery_lookups_total", t::counter,
            "Lookups (externalXRef search, notes read) before repeating a create or note whose outcome was "
            "uncertain, by cause: interrupted, transport, server, protocol.");
  m.declare("ticketsync_dead_letters_total", t::counter, "Operations dead-lettered since start.");
  m.declare("ticketsync_psa_requests_total", t::counter,
            "ConnectWise requests by endpoint and HTTP status (0 = no answer: connect, TLS or timeout).");
  m.declare("ticketsync_psa_request_duration_seconds", t::histogram,
            "ConnectWise request latency, from send to answer, by endpoint.", metrics::latency_buckets());
  m.declare("ticketsync_rate_limit_waits_total", t::counter,
            "Requests held back by the client-side budget or a 429 pause.");
  m.declare("ticketsync_rate_limit_wait_seconds_total", t::counter, "Time requests spent held back.");
  m.declare("ticketsync_psa_connected", t::gauge, "1 when ConnectWise is reachable and accepts the credentials.");
  m.declare("ticketsync_psa_state", t::gauge,
            "1 for the current connection state (connected, connecting, unreachable, blocked).");
  m.declare("ticketsync_psa_last_success_timestamp_seconds", t::gauge,
            "Unix time of the last successful ConnectWise request (0 = none since start).");
  m.declare("ticketsync_config_reloads_total", t::counter, "Configuration reloads by result (ok, failed).");
  m.declare("ticketsync_config_last_reload_success", t::gauge, "1 when the last reload succeeded (or none was tried).");
  m.declare("ticketsync_config_last_reload_timestamp_seconds", t::gauge, "Unix time of the last reload attempt.");
  m.declare("ticketsync_storm_digested_total", t::counter, "New issues folded into a storm digest ticket.");
  m.declare("ticketsync_technician_closed_total", t::counter, "Tickets found closed by a technician.");
  m.declare("ticketsync_ticket_changes_total", t::counter,
            "Changes heard from ConnectWise (sweep, callbacks, existence checks, write answers) by what they meant: "
            "none (an echo or a repeat), stale, in_progress, other_ticket, closed, reopened, merged, deleted, "
            "moved_board, moved_company, priority.");
  m.declare("ticketsync_sweeps_total", t::counter, "Polling sweeps by result (ok, failed).");
  m.declare("ticketsync_callbacks_total", t::counter,
            "ConnectWise callbacks by outcome: accepted, duplicate, ignored (not a tracked ticket), malformed, "
            "wrong_company, key_url, unsigned, bad_signature, key_unavailable, backpressure, store_error, stopping.");
  m.declare("ticketsync_store_commits_total", t::counter,
            "Group commits (one SQLite transaction each) of the daemon's writes.");
  m.declare("ticketsync_store_commit_writes_total", t::counter,
            "Writes (planning, intake, operation steps) carried by those commits.");
  m.declare("ticketsync_store_syncs_total", t::counter,
            "fdatasyncs of the write-ahead log by the sync thread; each makes every commit before it durable.");
  m.declare("ticketsync_store_checkpoints_total", t::counter,
            "Write-ahead log checkpoints by the sync thread, by result (ok, failed).");
  m.declare("ticketsync_process_start_time_seconds", t::gauge, "Unix time the daemon started.");
}

}  // namespace ts::ops
