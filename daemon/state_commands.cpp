// Operator commands over the state database, safe while the daemon runs:
// `status` (depths, connection, recent errors), `deadletter list|show|retry|
// drop` and `issue show`. Reads go through a read-only store; retry and drop
// are one store transaction each (SQLite's busy_timeout waits for the
// daemon's). The daemon notices a retried operation within seconds: its idle
// loop looks at the outbox every 2 s. Nothing here prints the configuration's
// psa section; the database holds no secrets.
#include "commands.hpp"
#include "operator_common.hpp"

#include "core/clock.hpp"

#include <nlohmann/json.hpp>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>

#include <pwd.h>
#include <signal.h>
#include <unistd.h>

namespace ts::daemon {

using json = nlohmann::json;

namespace {

constexpr std::size_t recent_error_count = 5;
constexpr std::size_t issue_history_count = 10;

//------------------------------------------------------------------------------
// formatting

json time_or_null(const std::optional<sys_ms>& t) { return t ? json(format_rfc3339(*t)) : json(nullptr); }

std::string time_or_dash(const std::optional<sys_ms>& t) { return t ? format_rfc3339(*t) : "-"; }

/// "42 s", "3 min 20 s", "5 h 2 min", "3 d 4 h".
std::string format_age(std::chrono::milliseconds age) {
  const long long s = std::max<long long>(0, age.count() / 1000);
  if (s < 60) return std::to_string(s) + " s";
  if (s < 3600) return std::to_string(s / 60) + " min " + std::to_string(s % 60) + " s";
  if (s < 86400) return std::to_string(s / 3600) + " h " + std::to_string(s % 3600 / 60) + " min";
  return std::to_string(s / 86400) + " d " + std::to_string(s % 86400 / 3600) + " h";
}

/// Columns padded to their widest cell (counted in code points, so UTF-8 text
/// lines up); the last column is not padded.
void print_table(std::ostream& out, const std::vector<std::vector<std::string>>& rows, const std::string& indent = "") {
  const auto width = [](const std::string& s) {
    std::size_t n = 0;
    for (unsigned char c : s) n += (c & 0xC0) != 0x80;
    return n;
  };
  std::vector<std::size_t> widths;
  for (const auto& r : rows)
    for (std::size_t i = 0; i < r.size(); ++i) {
      if (widths.size() <= i) widths.push_back(0);
      widths[i] = std::max(widths[i], width(r[i]));
    }
  for (const auto& r : rows) {
    std::string line = indent;
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(widths[i] - width(r[i]) + 2, ' ');
    }
    line.erase(line.find_last_not_of(' ') + 1);  // empty last cells leave no trailing blanks
    out << line << "\n";
  }
}

std::string issue_key_of(store::store& st, std::int64_t issue) {
  const auto rec = st.get_issue(issue);
  return rec ? rec->identity.display() : "(issue " + std::to_string(issue) + ")";
}

json operation_json(const store::operation_record& op) {
  return {{"id", op.id},
          {"kind", ts::to_text(op.kind)},
          {"status", ts::to_text(op.status)},
          {"attempts", op.attempts},
          {"step", op.step},
          {"sent", op.sent},
          {"next_attempt_at", format_rfc3339(op.next_attempt_at)},
          {"last_error", op.last_error.empty() ? json(nullptr) : json(op.last_error)},
          {"rerender", op.rerender},
          {"payload", json::parse(encode_payload(op.payload))}};
}

json dead_letter_json(const store::dead_letter& d, const std::string& issue_key) {
  const auto text = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
  return {{"id", d.id},
          {"operation", d.operation},
          {"issue", issue_key},
          {"kind", ts::to_text(d.kind)},
          {"http_status", d.info.http_status != 0 ? json(d.info.http_status) : json(nullptr)},
          {"cw_code", text(d.info.cw_code)},
          {"cw_message", text(d.info.cw_message)},
          {"cw_field", text(d.info.cw_field)},
          {"error", d.info.error},
          {"attempts", d.attempts},
          {"created_at", format_rfc3339(d.created_at)}};
}

std::string or_dash(const std::string& s) { return s.empty() ? "-" : s; }

std::string http_text(int status) { return status != 0 ? std::to_string(status) : "-"; }

//------------------------------------------------------------------------------
// opening the database

/// Read-only: works while the daemon runs and never creates the file.
std::optional<store::store> open_read_only(const std::string& config_path, const char* command, int& exit_code,
                                           std::string* database = nullptr) {
  auto cfg = load_quiet_or_report(config_path);
  if (!cfg) {
    exit_code = 2;
    return std::nullopt;
  }
  if (database) *database = cfg->storage.database;
  try {
    return std::optional<store::store>(std::in_place, cfg->storage.database, store::store::read_only_t{});
  } catch (const std::exception& e) {
    std::cerr << command << ": " << e.what() << "\n";
    exit_code = 1;
    return std::nullopt;
  }
}

/// Read-write, for retry and drop: only an existing database of exactly this
/// binary's schema (checked read-only first, so a newer ticketsyncd never
/// migrates the database of an older daemon that is running).
std::optional<store::store> open_read_write(const std::string& config_path, const char* command, int& exit_code) {
  std::string database;
  if (!open_read_only(config_path, command, exit_code, &database)) return std::nullopt;
  try {
    return std::optional<store::store>(std::in_place, database);
  } catch (const std::exception& e) {
    std::cerr << command << ": " << e.what() << "\n";
    exit_code = 1;
    return std::nullopt;
  }
}

/// The operator, for the history: the login name of the effective user, and
/// the user behind sudo when there is one ("alice via sudo (root)").
std::string invoking_user() {
  const uid_t uid = ::geteuid();
  const passwd* pw = ::getpwuid(uid);
  std::string name = pw && pw->pw_name ? pw->pw_name : "uid " + std::to_string(uid);
  const char* sudo = std::getenv("SUDO_USER");
  if (sudo && *sudo && name != sudo) return std::string(sudo) + " via sudo (" + name + ")";
  return name;
}

std::optional<std::int64_t> parse_id(const std::string& text) {
  std::int64_t v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc{} || end != text.data() + text.size() || v <= 0) return std::nullopt;
  return v;
}

/// Whether process `pid` exists (EPERM: it exists but belongs to another user).
bool process_alive(long long pid) {
  if (pid <= 0) return false;
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM;
}

}  // namespace

//------------------------------------------------------------------------------
// status

int cmd_status(const std::string& config_path, bool as_json) {
  int exit_code = 0;
  auto st = open_read_only(config_path, "status", exit_code);
  if (!st) return exit_code;
  const sys_ms now = ts::system_clock{}.now();
  const store::queue_status q = st->get_queue_status(now);
  const auto errors = st->recent_errors(recent_error_count);
  const auto rt = st->runtime();
  const auto value = [&](const char* key) -> std::optional<std::string> {
    auto it = rt.find(key);
    if (it == rt.end()) return std::nullopt;
    return it->second.value;
  };
  const auto time_value = [&](const char* key) -> std::optional<sys_ms> {
    auto v = value(key);
    return v ? parse_rfc3339(*v) : std::nullopt;
  };

  // The daemon runs when its recorded pid is alive and it has not recorded a
  // stop since it started (after a clean stop the pid may be another process's).
  long long pid = 0;
  if (auto v = value("daemon.pid")) pid = std::atoll(v->c_str());
  const auto started = time_value("daemon.started_at");
  const auto stopped = time_value("daemon.stopped_at");
  const bool stopped_since_start = stopped && (!started || *stopped >= *started);
  const bool running = process_alive(pid) && !stopped_since_start;
  const std::string psa_state = value("psa.state").value_or("unknown");
  const auto psa_since = time_value("psa.state_since");
  const auto last_success = time_value("psa.last_success_at");
  const auto last_error = value("psa.last_error");
  const std::optional<sys_ms> last_error_at =
      rt.contains("psa.last_error") ? std::optional(rt.at("psa.last_error").updated_at) : std::nullopt;
  const auto last_reload = value("config.last_reload");

  if (as_json) {
    json errs = json::array();
    for (const auto& e : errors)
      errs.push_back({{"operation", e.op.id},
                      {"issue", e.issue.display()},
                      {"kind", ts::to_text(e.op.kind)},
                      {"attempts", e.op.attempts},
                      {"next_attempt_at", format_rfc3339(e.op.next_attempt_at)},
                      {"error", e.op.last_error},
                      {"at", format_rfc3339(e.updated_at)}});
    const json doc = {
        {"daemon",
         {{"pid", pid > 0 ? json(pid) : json(nullptr)},
          {"running", running},
          {"started_at", time_or_null(started)},
          {"stopped_at", time_or_null(stopped)}}},
        {"psa",
         {{"state", psa_state},
          {"since", time_or_null(psa_since)},
          {"last_success_at", time_or_null(last_success)},
          {"last_error", last_error ? json(*last_error) : json(nullptr)},
          {"last_error_at", time_or_null(last_error_at)}}},
        {"config", {{"last_reload", last_reload ? json(*last_reload) : json(nullptr)}}},
        {"inbox",
         {{"depth", q.inbox},
          {"oldest_received_at", time_or_null(q.oldest_inbox)},
          {"oldest_age_seconds", q.oldest_inbox ? json((now - *q.oldest_inbox).count() / 1000) : json(nullptr)}}},
        {"held", q.held},
        {"outbox",
         {{"pending", q.pending_due + q.pending_waiting},
          {"due", q.pending_due},
          {"waiting_retry", q.pending_waiting},
          {"in_flight", q.sent}}},
        {"dead_letters", q.dead_letters},
        {"issues", q.issues},
        {"tickets", q.tickets},
        {"recent_errors", errs}};
    std::cout << dump(doc) << "\n";
    return 0;
  }

  std::vector<std::vector<std::string>> lines;
  if (pid > 0)
    lines.push_back({"daemon", (running ? "running (pid " : "not running (last pid ") + std::to_string(pid) +
                                   (started ? ", started " + format_rfc3339(*started) : "") +
                                   (!running && stopped ? ", stopped " + format_rfc3339(*stopped) : "") + ")"});
  else
    lines.push_back({"daemon", "never started with this database"});
  std::string psa = psa_state + (psa_since ? " since " + format_rfc3339(*psa_since) : "");
  if (!running) psa += " (as last recorded)";
  lines.push_back({"psa", psa});
  lines.push_back({"last success", time_or_dash(last_success)});
  if (last_error) lines.push_back({"last error", format_rfc3339(*last_error_at) + "  " + *last_error});
  lines.push_back({"last reload", last_reload.value_or("-")});
  lines.push_back({"inbox", std::to_string(q.inbox) +
                                (q.oldest_inbox ? ", oldest " + format_age(now - *q.oldest_inbox) + " old" : "")});
  lines.push_back({"held", std::to_string(q.held) + " event(s) of unmapped tenants"});
  lines.push_back({"outbox", std::to_string(q.pending_due + q.pending_waiting) + " pending: " +
                                 std::to_string(q.pending_due) + " due, " + std::to_string(q.pending_waiting) +
                                 " waiting to retry; " + std::to_string(q.sent) + " in flight or uncertain"});
  lines.push_back(
      {"dead letters", std::to_string(q.dead_letters) + (q.dead_letters > 0 ? " (ticketsyncd deadletter list)" : "")});
  lines.push_back({"issues", std::to_string(q.issues) + ", " + std::to_string(q.tickets) + " with a ticket"});
  print_table(std::cout, lines);
  if (!errors.empty()) {
    std::cout << "\nrecent errors\n";
    std::vector<std::vector<std::string>> rows{{"OP", "ISSUE", "KIND", "ATTEMPTS", "NEXT ATTEMPT", "ERROR"}};
    for (const auto& e : errors)
      rows.push_back({std::to_string(e.op.id), e.issue.display(), std::string(ts::to_text(e.op.kind)),
                      std::to_string(e.op.attempts), format_rfc3339(e.op.next_attempt_at), e.op.last_error});
    print_table(std::cout, rows, "  ");
  }
  return 0;
}

//------------------------------------------------------------------------------
// deadletter

int cmd_deadletter_list(const std::string& config_path, int limit, bool as_json) {
  int exit_code = 0;
  auto st = open_read_only(config_path, "deadletter list", exit_code);
  if (!st) return exit_code;
  const auto letters = st->dead_letters(static_cast<std::size_t>(std::max(0, limit)));
  const std::int64_t total = st->get_queue_status(ts::system_clock{}.now()).dead_letters;
  if (as_json) {
    json list = json::array();
    for (const auto& d : letters) list.push_back(dead_letter_json(d, issue_key_of(*st, d.issue)));
    std::cout << dump({{"total", total}, {"dead_letters", list}}) << "\n";
    return 0;
  }
  if (total == 0) {
    std::cout << "no dead letters\n";
    return 0;
  }
  std::vector<std::vector<std::string>> rows{
      {"ID", "OP", "ISSUE", "KIND", "HTTP", "CW CODE", "FIELD", "RETRIES", "FAILED", "ERROR"}};
  for (const auto& d : letters)
    rows.push_back({std::to_string(d.id), std::to_string(d.operation), issue_key_of(*st, d.issue),
                    std::string(ts::to_text(d.kind)), http_text(d.info.http_status), or_dash(d.info.cw_code),
                    or_dash(d.info.cw_field), std::to_string(d.attempts), format_rfc3339(d.created_at), d.info.error});
  if (!letters.empty()) print_table(std::cout, rows);
  if (total > static_cast<std::int64_t>(letters.size()))
    std::cout << "(" << total - static_cast<std::int64_t>(letters.size()) << " older not shown; --limit)\n";
  return 0;
}

int cmd_deadletter_show(const std::string& config_path, const std::string& id_text, bool as_json) {
  const auto id = parse_id(id_text);
  if (!id) {
    std::cerr << "deadletter show: '" << id_text << "' is not a dead letter id (see deadletter list)\n";
    return 2;
  }
  int exit_code = 0;
  auto st = open_read_only(config_path, "deadletter show", exit_code);
  if (!st) return exit_code;
  const auto d = st->find_dead_letter(*id);
  if (!d) {
    std::cerr << "deadletter show: no dead letter " << *id << "\n";
    return 1;
  }
  const auto issue = st->get_issue(d->issue);
  const auto op = st->get_operation(d->operation);
  const std::string key = issue ? issue->identity.display() : issue_key_of(*st, d->issue);
  auto history = st->history(d->issue);
  if (history.size() > issue_history_count)
    history.erase(history.begin(), history.end() - static_cast<std::ptrdiff_t>(issue_history_count));

  if (as_json) {
    json doc = dead_letter_json(*d, key);
    doc["correlation_key"] = issue ? json(issue->correlation_key) : json(nullptr);
    doc["ticket"] = issue && issue->ticket_id ? json(*issue->ticket_id) : json(nullptr);
    doc["ticket_state"] = issue ? json(ts::to_text(issue->ticket)) : json(nullptr);
    doc["operation_record"] = op ? operation_json(*op) : json(nullptr);
    doc["history"] = json::array();
    for (const auto& h : history) doc["history"].push_back(history_json(h));
    std::cout << dump(doc) << "\n";
    return 0;
  }
  std::string operation = std::to_string(d->operation) + " (" + std::string(ts::to_text(d->kind));
  if (op) operation += ", " + std::string(ts::to_text(op->status)) + ", step " + std::to_string(op->step);
  if (op && op->sent) operation += ", sent: a retry first looks for what an earlier attempt did";
  operation += ")";
  std::string ticket = "none";
  if (issue && issue->ticket_id)
    ticket = std::to_string(*issue->ticket_id) + " (" + std::string(ts::to_text(issue->ticket)) + ")";
  std::vector<std::vector<std::string>> lines{
      {"dead letter", std::to_string(d->id)},
      {"operation", operation},
      {"issue", key + (issue ? " (" + issue->correlation_key + ")" : "")},
      {"ticket", ticket},
      {"failed", format_rfc3339(d->created_at) + " after " + std::to_string(d->attempts) + " retr" +
                     (d->attempts == 1 ? "y" : "ies")},
      {"http status", http_text(d->info.http_status)},
      {"cw code", or_dash(d->info.cw_code)},
      {"cw message", or_dash(d->info.cw_message)},
      {"cw field", or_dash(d->info.cw_field)},
      {"error", d->info.error},
      {"payload", op ? encode_payload(op->payload) : "-"}};
  print_table(std::cout, lines);
  std::cout << "\nhistory (last " << history.size() << ")\n";
  for (const auto& h : history) std::cout << "  " << history_line(h) << "\n";
  return 0;
}

namespace {

/// retry and drop: one line per id; exit 1 when any id was refused.
int settle_dead_letters(const std::string& config_path, const std::vector<std::string>& ids, const std::string& reason,
                        bool retry) {
  const char* command = retry ? "deadletter retry" : "deadletter drop";
  int exit_code = 0;
  auto st = open_read_write(config_path, command, exit_code);
  if (!st) return exit_code;
  const std::string who = invoking_user();
  for (const auto& text : ids) {
    const auto id = parse_id(text);
    if (!id) {
      std::cerr << command << ": '" << text << "' is not a dead letter id (see deadletter list)\n";
      exit_code = 1;
      continue;
    }
    const sys_ms now = ts::system_clock{}.now();
    const store::dead_letter_change r =
        retry ? st->retry_dead_letter(*id, who, reason, now) : st->drop_dead_letter(*id, who, reason, now);
    switch (r.outcome) {
      case store::dead_letter_outcome::not_found:
        std::cerr << command << ": no dead letter " << *id << " (already retried or dropped? see deadletter list)\n";
        exit_code = 1;
        break;
      case store::dead_letter_outcome::not_dead: {
        const auto op = st->get_operation(r.letter->operation);
        std::cerr << command << ": dead letter " << *id << ": its operation " << r.letter->operation << " is "
                  << (op ? ts::to_text(op->status) : "missing") << ", not dead; nothing changed\n";
        exit_code = 1;
        break;
      }
      case store::dead_letter_outcome::done: {
        const std::string what = "operation " + std::to_string(r.letter->operation) + " (" +
                                 std::string(ts::to_text(r.letter->kind)) + " of " +
                                 issue_key_of(*st, r.letter->issue) + ")";
        std::cout << "dead letter " << *id << ": "
                  << (retry ? "retried " + what + ", due now with the current mapping"
                            : "dropped; " + what + " stays dead")
                  << "; by " << who << " at " << format_rfc3339(now) << (reason.empty() ? "" : "; reason: " + reason)
                  << "\n";
        break;
      }
    }
  }
  return exit_code;
}

}  // namespace

int cmd_deadletter_retry(const std::string& config_path, const std::vector<std::string>& ids,
                         const std::string& reason) {
  return settle_dead_letters(config_path, ids, reason, true);
}

int cmd_deadletter_drop(const std::string& config_path, const std::vector<std::string>& ids,
                        const std::string& reason) {
  if (reason.find_first_not_of(" \t\r\n") == std::string::npos) {
    std::cerr << "deadletter drop: --reason TEXT is required (it is recorded in the issue's history)\n";
    return 2;
  }
  return settle_dead_letters(config_path, ids, reason, false);
}

//------------------------------------------------------------------------------
// issue show

int cmd_issue_show(const std::string& config_path, const std::string& key, bool as_json) {
  int exit_code = 0;
  auto st = open_read_only(config_path, "issue show", exit_code);
  if (!st) return exit_code;
  const issue_lookup found = find_issue_by_key(*st, key);
  if (found.malformed) {
    std::cerr << "issue show: KEY is source/tenant/issue_id or a correlation key (ts1:...), got '" << key << "'\n";
    return 2;
  }
  if (!found.issue) {
    std::cerr << "issue show: no issue " << key << "\n";
    return 1;
  }
  const store::issue_record& rec = *found.issue;
  const auto ops = st->operations_of(rec.id);
  const auto letters = st->dead_letters_of(rec.id);
  auto history = st->history(rec.id);
  const std::size_t history_total = history.size();
  if (history.size() > issue_history_count)
    history.erase(history.begin(), history.end() - static_cast<std::ptrdiff_t>(issue_history_count));
  json desired = json::parse(encode_desired(rec.desired));
  desired["xref"] = rec.xref();
  const json applied = rec.ticket_id ? json::parse(encode_applied(rec.applied)) : json::object();
  const std::string display = rec.identity.display();

  if (as_json) {
    json doc = {{"issue", display},
                {"correlation_key", rec.correlation_key},
                {"state", to_text(rec.state)},
                {"severity", to_text(rec.severity)},
                {"last_event_at", format_rfc3339(rec.last_event_at)},
                {"resolved_at", time_or_null(rec.resolved_at)},
                {"ticket", rec.ticket_id ? json(*rec.ticket_id) : json(nullptr)},
                {"ticket_state", ts::to_text(rec.ticket)},
                {"generation", rec.generation},
                {"phase", ts::to_text(rec.phase)},
                {"rule", rec.rule},
                {"technician_closed", rec.tech_closed},
                {"digest", rec.digest ? json(issue_key_of(*st, *rec.digest)) : json(nullptr)},
                {"desired", desired},
                {"applied", applied},
                {"operations", json::array()},
                {"dead_letters", json::array()},
                {"history_total", history_total},
                {"history", json::array()}};
    for (const auto& op : ops) doc["operations"].push_back(operation_json(op));
    for (const auto& d : letters) doc["dead_letters"].push_back(dead_letter_json(d, display));
    for (const auto& h : history) doc["history"].push_back(history_json(h));
    std::cout << dump(doc) << "\n";
    return 0;
  }

  std::string ticket = rec.ticket_id ? std::to_string(*rec.ticket_id) : "none";
  ticket += " (" + std::string(ts::to_text(rec.ticket)) + ", generation " + std::to_string(rec.generation) +
            ", phase " + std::string(ts::to_text(rec.phase)) + ")";
  if (rec.tech_closed) ticket += ", closed by a technician";
  std::vector<std::vector<std::string>> head{
      {"issue", display + " (" + rec.correlation_key + ")"},
      {"state", std::string(to_text(rec.state)) + ", " + std::string(to_text(rec.severity)) + ", last event " +
                    format_rfc3339(rec.last_event_at)},
      {"ticket", ticket},
      {"rule", rec.rule.empty() ? "-" : rec.rule}};
  if (rec.digest) head.push_back({"digest", "a note on the storm digest ticket of " + issue_key_of(*st, *rec.digest)});
  print_table(std::cout, head);

  // Desired (what the newest event wants) against applied (what the ticket is known to hold).
  const auto field = [](const json& j, const char* k) {
    auto it = j.find(k);
    if (it == j.end() || it->is_null()) return std::string("-");
    return it->is_string() ? it->get<std::string>() : it->dump(-1, ' ', false, json::error_handler_t::replace);
  };
  std::cout << "\nfields\n";
  std::vector<std::vector<std::string>> fields{{"FIELD", "DESIRED", "APPLIED"}};
  for (const char* k : {"summary", "priority", "severity", "impact"})
    fields.push_back({k, field(desired, k), field(applied, k)});
  for (const char* k : {"company", "board", "status", "type", "subtype", "item", "team", "source", "xref"})
    if (const std::string v = field(desired, k); v != "-" && !v.empty()) fields.push_back({k, v, ""});
  print_table(std::cout, fields, "  ");

  std::cout << "\noperations\n";
  if (ops.empty()) {
    std::cout << "  (none)\n";
  } else {
    std::vector<std::vector<std::string>> rows{
        {"ID", "KIND", "STATUS", "ATTEMPTS", "STEP", "SENT", "NEXT ATTEMPT", "LAST ERROR"}};
    for (const auto& op : ops)
      rows.push_back({std::to_string(op.id), std::string(ts::to_text(op.kind)), std::string(ts::to_text(op.status)),
                      std::to_string(op.attempts), std::to_string(op.step), op.sent ? "yes" : "no",
                      op.status == store::op_status::pending ? format_rfc3339(op.next_attempt_at) : "-",
                      or_dash(op.last_error)});
    print_table(std::cout, rows, "  ");
  }

  std::cout << "\ndead letters\n";
  if (letters.empty()) {
    std::cout << "  (none)\n";
  } else {
    std::vector<std::vector<std::string>> rows{{"ID", "OP", "KIND", "HTTP", "FAILED", "ERROR"}};
    for (const auto& d : letters)
      rows.push_back({std::to_string(d.id), std::to_string(d.operation), std::string(ts::to_text(d.kind)),
                      http_text(d.info.http_status), format_rfc3339(d.created_at), d.info.error});
    print_table(std::cout, rows, "  ");
  }

  std::cout << "\nhistory (last " << history.size() << " of " << history_total << ")\n";
  for (const auto& h : history) std::cout << "  " << history_line(h) << "\n";
  return 0;
}

}  // namespace ts::daemon
