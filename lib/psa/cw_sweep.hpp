// The polling sweep's ConnectWise side: which page to ask for, and how a page
// moves the sweep on. Pure. A sweep asks for ticketsync's tickets changed
// since the durable mark, in (lastUpdated, id) order, with key-based paging:
// each page starts after the last row read, so a row changed while the sweep
// runs is neither read twice in the sweep nor looped on. Every time here is
// the server's (`_info.lastUpdated`, the Date header), never the local clock.
//
// Why the next sweep starts no later than the server's Date at the start of
// this one: ConnectWise's lastUpdated has one-second resolution, so a ticket
// changed in the second the cursor stands on, with an id below the cursor's,
// sorts behind the cursor and this sweep cannot see it. Every such change
// happens after the sweep began, so reading again from the sweep's start
// (server time) catches it. Rows are then read again, which the decisions
// treat as "nothing changed"; a skipped row would be a change never seen.
#pragma once

#include "core/error.hpp"
#include "core/time.hpp"
#include "psa/cw_codec.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ts::psa {

/// The fields of a ticket the reverse direction decides on.
inline constexpr std::string_view sweep_fields =
    "id,closedFlag,status/id,board/id,company/identifier,priority/id,mergedParentTicket/id,_info/lastUpdated,"
    "_info/updatedBy";

/// Where a sweep stands within its pages: every row at or before (time, id) was read.
struct sweep_cursor {
  sys_ms time{};
  std::int64_t id = 0;
  friend bool operator==(const sweep_cursor&, const sweep_cursor&) = default;
};

/// The target of one page: ticketsync's tickets (externalXRef like
/// `<xref_prefix>%`) changed at or after `since` (all of them when none), and
/// after `after` once a page has been read, ordered by lastUpdated then id.
///   {prefix}/service/tickets?conditions=externalXRef like "ts1:%" and lastUpdated >= [T0]
///       and (lastUpdated > [T] or (lastUpdated = [T] and id > N))
///     &orderBy=lastUpdated asc, id asc&fields=…&pageSize=N
std::string sweep_page_target(std::string_view prefix, std::string_view xref_prefix, std::optional<sys_ms> since,
                              const std::optional<sweep_cursor>& after, std::size_t page_size);

/// Most ids asked for in one tickets_by_id_target request (the URL stays
/// well under common 8 KiB limits).
inline constexpr std::size_t max_ids_per_request = 200;

/// Which of `ids` (1..max_ids_per_request of them) exist:
///   {prefix}/service/tickets?conditions=id in (1,2,3)&fields=id&pageSize=N
/// or, with `full`, their sweep_fields (a callback's re-read).
std::string tickets_by_id_target(std::string_view prefix, const std::vector<std::int64_t>& ids, bool full);

/// A page read: where the sweep stands now, and whether another page follows
/// (the page was full).
struct sweep_progress {
  std::optional<sweep_cursor> cursor;  ///< unchanged when the page was empty
  bool more = false;
};

/// Checks a page against the request that fetched it and moves the cursor to
/// its last row. errc::psa_protocol when a row lacks a well-formed
/// `_info.lastUpdated`, lies at or before `after` or before `since`, or is out
/// of (lastUpdated, id) order, or when the page holds more than page_size
/// rows: paging on such answers could loop or skip, so the sweep stops and
/// keeps its mark.
result<sweep_progress> read_sweep_page(std::optional<sys_ms> since, const std::optional<sweep_cursor>& after,
                                       const std::vector<ticket_info>& page, std::size_t page_size);

/// The mark the next sweep starts from, once this one has read its last page:
/// the earlier of the newest lastUpdated read (`end`) and the server's Date on
/// the sweep's first answer (`server_start`); the old mark when neither is
/// known. Never earlier than the old mark.
std::optional<sys_ms> next_sweep_mark(std::optional<sys_ms> old_mark, const std::optional<sweep_cursor>& end,
                                      std::optional<sys_ms> server_start);

}  // namespace ts::psa
