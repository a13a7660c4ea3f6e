// The PSA requests the sync engine makes, and their answers, as values.
// The operation machine (sync/op_machine.hpp) returns a `request`; the loop
// hands it to a psa::client and feeds the `answer` back. Pure: the
// ConnectWise codec turns these into HTTP in the client.
#pragma once

#include "core/enum_text.hpp"
#include "psa/cw_codec.hpp"
#include "psa/cw_sweep.hpp"
#include "psa/failure.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace ts::psa {

/// The ConnectWise setup tables ticketsync resolves names in.
enum class name_list {
  boards,         ///< GET /service/boards
  statuses,       ///< GET /service/boards/{board}/statuses
  priorities,     ///< GET /service/priorities
  types,          ///< GET /service/boards/{board}/types
  subtypes,       ///< GET /service/boards/{board}/subtypes
  items,          ///< GET /service/boards/{board}/items
  teams,          ///< GET /service/boards/{board}/teams
  sources,        ///< GET /service/sources
  custom_fields,  ///< ticket custom field definitions (cw_client::custom_fields)
};

/// Whether the list belongs to one board (its request names the board).
constexpr bool per_board(name_list l) noexcept {
  return l == name_list::statuses || l == name_list::types || l == name_list::subtypes || l == name_list::items ||
         l == name_list::teams;
}

namespace req {
/// POST /service/tickets.
struct create_ticket {
  ticket_create body;
};
/// GET /service/tickets?conditions=externalXRef="…": the ticket a create may have made.
struct find_ticket {
  std::string xref;
};
/// GET /service/tickets/{id}.
struct get_ticket {
  std::int64_t id = 0;
};
/// PATCH /service/tickets/{id} with replace operations (absolute values).
struct patch_ticket {
  std::int64_t id = 0;
  std::vector<patch_op> ops;
};
/// POST /service/tickets/{id}/notes.
struct post_note {
  std::int64_t ticket = 0;
  std::string text;
  note_area area = note_area::internal_analysis;
};
/// GET /service/tickets/{id}/notes: the newest notes, to find one a lost answer hid.
struct list_notes {
  std::int64_t ticket = 0;
};
/// One page of the polling sweep (psa/cw_sweep.hpp): ticketsync's tickets
/// changed at or after `since`, after `after`, with psa::sweep_fields.
struct sweep_page {
  std::optional<sys_ms> since;
  std::optional<sweep_cursor> after;
  std::size_t page_size = 200;
};
/// GET /service/tickets?conditions=id in (…)&fields=…: which of `ids` exist
/// (ids only) or, with `full`, their sweep_fields (a callback's re-read).
struct tickets_by_id {
  std::vector<std::int64_t> ids;
  bool full = false;
};
/// A setup table (all pages).
struct list_names {
  name_list list = name_list::boards;
  std::int64_t board = 0;  ///< for per_board() lists
};
}  // namespace req

using request = std::variant<req::create_ticket, req::find_ticket, req::get_ticket, req::patch_ticket, req::post_note,
                             req::list_notes, req::list_names, req::sweep_page, req::tickets_by_id>;

/// Whether repeating the request blindly could do harm (a second ticket, a
/// second note). Such a request is marked sent in the store before it leaves,
/// and an uncertain outcome is looked up before it is sent again.
bool repeat_unsafe(const request& r) noexcept;

/// "POST /service/tickets", "GET /service/boards/{id}/statuses", ...: the
/// method and endpoint template, for logs, `explain` and test call logs.
std::string describe(const request& r);

/// What a request answers when it succeeds:
///   create_ticket, get_ticket, patch_ticket -> ticket_info
///   find_ticket                             -> std::optional<ticket_info> (the lowest id when several)
///   post_note                               -> note_info
///   list_notes                              -> std::vector<note_info>, newest first
///   list_names                              -> std::vector<named_ref>
///   sweep_page                              -> sweep_reply
///   tickets_by_id                           -> std::vector<ticket_info> (those that exist, any order)
struct sweep_reply {
  std::vector<ticket_info> rows;
  std::optional<sys_ms> server_date;  ///< the answer's Date header, when well-formed
};
using reply = std::variant<ticket_info, std::optional<ticket_info>, note_info, std::vector<note_info>,
                           std::vector<named_ref>, sweep_reply, std::vector<ticket_info>>;
using answer = boost::system::result<reply, psa_failure>;

/// The reply of a successful `a` as T, or nullptr when `a` failed or holds
/// another type (a programming error in the caller, or a hostile fake).
template <class T>
const T* reply_as(const answer& a) noexcept {
  return a ? std::get_if<T>(&*a) : nullptr;
}

}  // namespace ts::psa

template <>
struct ts::enum_text<ts::psa::name_list> {
  using l = psa::name_list;
  static constexpr std::array<std::pair<l, std::string_view>, 9> names{{
      {l::boards, "boards"},
      {l::statuses, "statuses"},
      {l::priorities, "priorities"},
      {l::types, "types"},
      {l::subtypes, "subtypes"},
      {l::items, "items"},
      {l::teams, "teams"},
      {l::sources, "sources"},
      {l::custom_fields, "custom_fields"},
  }};
};
