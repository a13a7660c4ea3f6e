// The polling sweep's ConnectWise side (cw_sweep.hpp). Pure.
#include "psa/cw_sweep.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>
#include <utility>

namespace ts::psa {
namespace {

// A ConnectWise datetime literal: [2026-12-03T10:00:00Z], with milliseconds
// only when the time has them (ConnectWise's own values are whole seconds).
std::string datetime_literal(sys_ms t) {
  std::string text = format_rfc3339(t);  // 2026-12-03T10:00:00.000Z
  if (t == std::chrono::floor<std::chrono::seconds>(t)) text.erase(text.size() - 5, 4);
  return "[" + text + "]";
}

bool after_cursor(const ticket_info& row, const sweep_cursor& c) {
  return *row.last_updated > c.time || (*row.last_updated == c.time && row.id > c.id);
}

}  // namespace

std::string sweep_page_target(std::string_view prefix, std::string_view xref_prefix, std::optional<sys_ms> since,
                              const std::optional<sweep_cursor>& after, std::size_t page_size) {
  // The correlation-key prefix is ticketsync's own constant ("ts1:"), never input.
  const auto xref = condition_literal(std::string(xref_prefix) + "%");
  if (!xref) throw std::invalid_argument("sweep_page_target: the externalXRef prefix holds both quote characters");
  std::string cond = "externalXRef like " + *xref;
  if (since) cond += " and lastUpdated >= " + datetime_literal(*since);
  if (after) {
    const std::string t = datetime_literal(after->time);
    cond += " and (lastUpdated > " + t + " or (lastUpdated = " + t + " and id > " + std::to_string(after->id) + "))";
  }
  return std::string(prefix) + "/service/tickets?conditions=" + url_encode(cond) +
         "&orderBy=" + url_encode("lastUpdated asc, id asc") + "&fields=" + url_encode(sweep_fields) +
         "&pageSize=" + std::to_string(page_size);
}

std::string tickets_by_id_target(std::string_view prefix, const std::vector<std::int64_t>& ids, bool full) {
  if (ids.empty() || ids.size() > max_ids_per_request)
    throw std::invalid_argument("tickets_by_id_target: 1.." + std::to_string(max_ids_per_request) + " ids");
  std::string cond = "id in (";
  for (std::size_t i = 0; i < ids.size(); ++i) {
    if (i) cond += ",";
    cond += std::to_string(ids[i]);
  }
  cond += ")";
  return std::string(prefix) + "/service/tickets?conditions=" + url_encode(cond) +
         "&fields=" + url_encode(full ? sweep_fields : std::string_view("id")) +
         "&pageSize=" + std::to_string(ids.size());
}

result<sweep_progress> read_sweep_page(std::optional<sys_ms> since, const std::optional<sweep_cursor>& after,
                                       const std::vector<ticket_info>& page, std::size_t page_size) {
  if (page.size() > page_size) return errc::psa_protocol;
  sweep_progress p{after, page.size() == page_size};
  for (const ticket_info& row : page) {
    if (!row.last_updated) return errc::psa_protocol;
    if (since && *row.last_updated < *since) return errc::psa_protocol;
    if (after && !after_cursor(row, *after)) return errc::psa_protocol;
    if (p.cursor && !after_cursor(row, *p.cursor)) return errc::psa_protocol;  // out of order, or a repeat
    p.cursor = sweep_cursor{*row.last_updated, row.id};
  }
  return p;
}

std::optional<sys_ms> next_sweep_mark(std::optional<sys_ms> old_mark, const std::optional<sweep_cursor>& end,
                                      std::optional<sys_ms> server_start) {
  std::optional<sys_ms> mark;
  if (end && server_start) {
    mark = std::min(end->time, *server_start);
  } else if (end) {
    mark = end->time;
  } else {
    mark = server_start;
  }
  if (!mark) return old_mark;
  if (old_mark && *mark < *old_mark) return old_mark;
  return mark;
}

}  // namespace ts::psa
