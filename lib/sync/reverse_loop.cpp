// The loop's half of the ConnectWise -> ticketsync direction (IO): when the
// polling sweep and the existence check run, the requests they make, and the
// commit of what they found. What a change means is decided in
// sync/reverse.hpp; which page to ask for and how a page moves the sweep on,
// in psa/cw_sweep.hpp.
#include "sync/engine.hpp"

#include <boost/asio/co_spawn.hpp>

#include <algorithm>
#include <set>

namespace ts::sync {

namespace net = boost::asio;

namespace {

constexpr std::string_view sweep_mark = "sweep.mark";
constexpr std::string_view existence_mark = "existence.at";

// The next sweep starts this much before the server's Date of this sweep's
// first answer (cw_sweep.hpp says why it starts no later than that Date):
// ConnectWise stamps lastUpdated on its application servers and Date on its
// front ends, whose clocks need not agree to the second. Rows re-read
// because of it are "nothing changed".
constexpr auto server_clock_margin = std::chrono::seconds{30};

// A sweep that stops on a failure tries again this soon (not a whole interval later).
constexpr auto sweep_retry = std::chrono::seconds{30};

// While a sweep or check runs, the loop need not look: its end notifies.
constexpr auto idle_poll_reverse = std::chrono::seconds{2};

}  // namespace

steady_time engine::start_reverse() {
  const ts::clock& clk = deps_.timers.clk();
  const steady_time now = clk.steady_now();
  const auto& rc = cfg_->reverse;
  if (!next_existence_) {
    // Checked once per interval across restarts: from the durable time of the last check.
    next_existence_ = now;
    if (auto at = deps_.st.reverse_mark(existence_mark)) {
      const auto since = clk.now() - from_unix_ms(*at);
      if (since < rc.existence_interval) next_existence_ = now + (rc.existence_interval - since);
    }
  }
  if (!next_sweep_) next_sweep_ = now;
  steady_time due = std::min(*next_sweep_, *next_existence_);
  if (hints_pending_) due = std::min(due, next_hints_);
  if (stopping_ || flight_->reverse || now < due) return flight_->reverse ? now + idle_poll_reverse : due;

  // Callbacks first: they are what "within a second" is about.
  const reverse_job job = hints_pending_ && now >= next_hints_ ? reverse_job::hints
                          : now >= *next_sweep_                ? reverse_job::sweep
                                                               : reverse_job::existence;
  flight_->reverse = true;
  net::co_spawn(ex_, reverse_task(flight_, job), [this](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        deps_.log.critical("sync.failed reverse task failed: {}", ex.what());
        stopping_ = true;
      }
    }
    wake_.notify();
  });
  return now + idle_poll_reverse;
}

net::awaitable<void> engine::reverse_task(std::shared_ptr<flight> f, reverse_job job) {
  struct release {
    std::shared_ptr<flight> f;  // not the engine: this may run after it is destroyed
    ~release() { f->reverse = false; }
  } guard{std::move(f)};
  switch (job) {
    case reverse_job::hints: co_await read_hints(); break;
    case reverse_job::sweep: co_await sweep(); break;
    case reverse_job::existence: co_await check_existence(); break;
  }
}

net::awaitable<void> engine::read_hints() {
  const ts::clock& clk = deps_.timers.clk();
  const auto hints = deps_.st.ticket_hints(psa::max_ids_per_request);
  hints_pending_ = hints.size() == psa::max_ids_per_request;
  if (hints.empty()) co_return;
  last_callback_ = clk.steady_now();
  std::vector<std::int64_t> ids;
  std::vector<std::int64_t> rows;
  std::vector<observation> heard;
  bool kept = false;
  for (const auto& h : hints) {
    const auto issues = deps_.st.issues_with_ticket(h.ticket);
    if (issues.empty() && h.action == "added" && clk.now() - h.received_at < std::chrono::seconds{10}) {
      // ticketsync's own create may not have stored the ticket's id yet: look again shortly.
      kept = true;
      continue;
    }
    rows.push_back(h.id);
    if (issues.empty()) continue;  // not a ticket ticketsync tracks (someone else's)
    // The echo of ticketsync's own write needs no read: nothing to decide.
    bool own = h.action != "deleted" && !h.member.empty();
    for (const auto& i : issues) own = own && i.seen.known && i.seen.written_by == h.member;
    if (own) {
      heard.push_back(observation{h.ticket, std::nullopt, heard_from::callback, h.member});
      continue;
    }
    if (std::find(ids.begin(), ids.end(), h.ticket) == ids.end()) ids.push_back(h.ticket);
  }
  std::vector<write> link_writes;
  bool failed = false;
  std::set<std::int64_t> present;
  psa::answer a = psa::sweep_reply{};
  if (!ids.empty()) {
    psa::request list = psa::req::tickets_by_id{ids, true};  // (named: see check_existence)
    a = co_await perform(std::move(list), link_writes);
  } else {
    a = std::vector<psa::ticket_info>{};
  }
  if (const auto* found = psa::reply_as<std::vector<psa::ticket_info>>(a)) {
    for (const auto& t : *found) {
      present.insert(t.id);
      heard.push_back(observation{t.id, t, heard_from::callback});
    }
  } else {
    deps_.log.warn("callback.reread_failed tickets={} error=\"{}\"; read again shortly", ids.size(),
                   a ? std::string("unexpected answer") : a.error().to_string());
    failed = true;
  }
  if (!failed) failed = !co_await confirm_missing(ids, present, heard_from::callback, heard, link_writes);
  if (failed) {
    // The hints stay; the sweep would hear the changes too, but sooner is the point.
    hints_pending_ = true;
    next_hints_ = clk.steady_now() + std::chrono::seconds{5};
    heard.clear();
  } else {
    link_writes.push_back(wr::remove_hints{rows});
    if (kept) {
      hints_pending_ = true;
      next_hints_ = clk.steady_now() + std::chrono::seconds{1};
    }
  }
  co_await observe_all(std::move(heard), std::move(link_writes));
}

net::awaitable<void> engine::sweep() {
  const ts::clock& clk = deps_.timers.clk();
  const std::size_t page_size = cfg_->reverse.page_size;
  std::optional<sys_ms> since;
  if (auto m = deps_.st.reverse_mark(sweep_mark)) since = from_unix_ms(*m);
  std::optional<psa::sweep_cursor> cursor;
  std::optional<sys_ms> server_start;
  std::size_t rows = 0;
  bool complete = false;
  // (Loop-body locals outside the loop: see check_existence.)
  std::vector<write> link_writes;
  std::vector<observation> seen;
  bool more = !stopping_;
  while (more) {
    link_writes.clear();
    seen.clear();
    more = false;
    psa::request next = psa::req::sweep_page{since, cursor, page_size};  // (named: see check_existence)
    psa::answer a = co_await perform(std::move(next), link_writes);
    const auto* page = psa::reply_as<psa::sweep_reply>(a);
    std::optional<psa::sweep_progress> progress;
    if (!page) {
      ++stats_.sweep_failures;
      deps_.log.warn("sweep.failed rows_read={} error=\"{}\"; the mark stays, the next sweep reads again", rows,
                     a ? std::string("unexpected answer") : a.error().to_string());
    } else if (auto p = psa::read_sweep_page(since, cursor, page->rows, page_size); !p) {
      ++stats_.sweep_failures;
      deps_.log.error(
          "sweep.bad_page rows_read={} ConnectWise answered a page out of (lastUpdated, id) order or without "
          "lastUpdated; the mark stays",
          rows);
    } else {
      progress = *p;
      if (!server_start) server_start = page->server_date;
      for (const auto& t : page->rows) seen.push_back(observation{t.id, t, heard_from::sweep});
      rows += page->rows.size();
      cursor = progress->cursor;
      if (!progress->more) {
        // The last page: its decisions and the new mark commit together.
        const auto start = server_start ? std::optional(*server_start - server_clock_margin) : std::nullopt;
        if (const auto mark = psa::next_sweep_mark(since, cursor, start); mark && mark != since)
          link_writes.push_back(wr::reverse_mark{std::string(sweep_mark), to_unix_ms(*mark)});
        complete = true;
      } else {
        more = !stopping_;
      }
    }
    co_await observe_all(std::move(seen), std::move(link_writes));
  }
  if (complete) {
    ++stats_.sweeps;
    deps_.log.debug("sweep.done rows={}", rows);
  }
  next_sweep_ =
      clk.steady_now() + (complete ? cfg_->reverse.poll_interval
                                   : std::min<std::chrono::milliseconds>(sweep_retry, cfg_->reverse.poll_interval));
}

net::awaitable<void> engine::check_existence() {
  const ts::clock& clk = deps_.timers.clk();
  std::int64_t after = 0;
  std::size_t checked = 0, gone = 0;
  bool complete = false;
  // (Locals of the loop body live outside it: GCC 12 destroys a loop-body
  // local twice when a coroutine breaks out of the loop.)
  std::vector<std::int64_t> ids;
  std::vector<write> link_writes;
  std::vector<observation> deleted;
  std::set<std::int64_t> present;
  bool more = !stopping_;
  while (more) {
    ids = deps_.st.open_tickets(after, psa::max_ids_per_request);
    link_writes.clear();
    deleted.clear();
    present.clear();
    bool interrupted = ids.empty();
    complete = ids.empty();
    if (!ids.empty()) {
      // (Requests are named first: GCC 12 destroys a braced temporary in a
      // co_await's arguments twice.)
      psa::request list = psa::req::tickets_by_id{ids, false};
      psa::answer a = co_await perform(std::move(list), link_writes);
      if (const auto* found = psa::reply_as<std::vector<psa::ticket_info>>(a)) {
        for (const auto& t : *found) present.insert(t.id);
      } else {
        deps_.log.warn("existence.failed checked={} error=\"{}\"; checked again later", checked,
                       a ? std::string("unexpected answer") : a.error().to_string());
        interrupted = true;
      }
    }
    if (!interrupted)
      interrupted = !co_await confirm_missing(ids, present, heard_from::existence_check, deleted, link_writes);
    for (const observation& o : deleted) gone += o.state ? 0 : 1;
    if (!ids.empty()) co_await observe_all(std::move(deleted), std::move(link_writes));
    if (!interrupted) {
      checked += ids.size();
      after = ids.back();
      complete = ids.size() < psa::max_ids_per_request;
    }
    more = !interrupted && !complete && !stopping_;
  }
  if (complete) {
    std::vector<write> mark{wr::reverse_mark{std::string(existence_mark), to_unix_ms(clk.now())}};
    co_await commit(std::move(mark));
    deps_.log.debug("existence.done checked={} gone={}", checked, gone);
  }
  next_existence_ = clk.steady_now() + cfg_->reverse.existence_interval;
}

net::awaitable<bool> engine::confirm_missing(const std::vector<std::int64_t>& ids,
                                             const std::set<std::int64_t>& present, heard_from from,
                                             std::vector<observation>& out, std::vector<write>& link_writes) {
  // A ticket missing from a list is deleted only if reading it answers 404:
  // a list can be incomplete (a role that may not see a board), a deletion
  // is for good. One that is there after all is observed as it is.
  for (const std::int64_t id : ids) {
    if (present.contains(id)) continue;
    psa::request read = psa::req::get_ticket{id};  // (named: see check_existence)
    psa::answer one = co_await perform(std::move(read), link_writes);
    if (const auto* t = psa::reply_as<psa::ticket_info>(one))
      out.push_back(observation{t->id, *t, from});
    else if (!one && one.error().what == psa::psa_failure::kind::rejected && one.error().http_status == 404)
      out.push_back(observation{id, std::nullopt, from});
    else
      co_return false;
  }
  co_return true;
}

net::awaitable<void> engine::observe_all(std::vector<observation> seen, std::vector<write> extra) {
  if (seen.empty() && extra.empty()) co_return;
  const std::shared_ptr<const rules::ruleset> rules = rules_;
  bool acted = false;
  // Decided inside the commit, on the rows as they are now: an operation
  // that committed meanwhile is seen, and nothing commits in between.
  co_await deps_.commits.commit([&] {
    const sys_ms now = deps_.timers.clk().now();
    for (const observation& o : seen) {
      for (const issue_record& issue : deps_.st.issues_with_ticket(o.ticket)) {
        const bool busy = flight_->issues.contains(issue.id);
        const auto& policy = rules->ticket_for(issue.desired.rule).lifecycle;
        const reverse_result r = observe(issue, busy, o, policy, now);
        for (const change c : r.changes) {
          ++stats_.ticket_changes[std::string(to_text(c))];
          if (c == change::closed) ++stats_.technician_closed;
        }
        acted = acted || !r.notices.empty();
        apply_writes(deps_.st, r.writes, now, issue.id);
        log_notices(r.notices);
      }
    }
    apply_writes(deps_.st, extra, now);
  });
  if (acted) wake_.notify();  // operations the decisions queued
}

}  // namespace ts::sync
