// ConnectWise callback entries (`/system/callbacks`, reference
// connectwise-api.md §10): the entry ticketsync registers for each board it
// writes to, the parser of the entry list ConnectWise answers, and the plan
// that turns what is registered into what should be. Pure: the client calls
// and the command that prints them live in cw_client and daemon/.
//
// Ownership: ticketsync's entries are the ones whose description starts with
// callback_description_prefix. Every other entry (another integration's, one
// an administrator made by hand) is counted and never changed.
#pragma once

#include <boost/system/result.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ts::psa {

/// What every description of ticketsync's entries starts with.
inline constexpr std::string_view callback_description_prefix = "ticketsync:";
/// The description ticketsync registers its entries with (≤ 100 characters, CW's limit).
inline constexpr std::string_view callback_description = "ticketsync: ticket changes on this board (ticketsyncd)";

/// Largest callback list answer parsed, and the most entries in one answer
/// (a page holds at most 1,000: pageSize's ceiling).
inline constexpr std::size_t max_callback_list_bytes = std::size_t{4} << 20;
inline constexpr std::size_t max_callback_entries = 1000;

/// One CallbackEntry.
struct callback_entry {
  std::int64_t id = 0;  ///< read-only; 0 before registration
  std::string url;
  std::int64_t object_id = 0;  ///< level board: the board id
  std::string type;            ///< "ticket" (ConnectWise may answer "Ticket")
  std::string level;           ///< "board" (ConnectWise may answer "Board")
  std::string description;
  bool inactive = false;         ///< inactiveFlag: ConnectWise disables entries whose deliveries keep failing
  bool self_suppressed = false;  ///< isSelfSuppressedFlag
  std::string payload_version;   ///< "" = not sent / absent
  std::int64_t member_id = 0;    ///< read-only: who registered it

  /// The description starts with callback_description_prefix.
  bool ours() const noexcept;
  /// A ticket callback at board level (type and level compared without letter case).
  bool board_level() const noexcept;

  friend bool operator==(const callback_entry&, const callback_entry&) = default;
};

/// The entry ticketsync registers for `board_id`: type ticket, level board,
/// objectId = the board, `url`, callback_description, self-suppressed, active.
callback_entry board_callback(std::int64_t board_id, std::string url);

/// JSON body of POST /system/callbacks: url, objectId, type, level,
/// description, inactiveFlag, isSelfSuppressedFlag, and payloadVersion when
/// set. Read-only fields (id, memberId) are never sent.
std::string encode_callback_entry(const callback_entry& e);

/// Parses a GET /system/callbacks answer: a JSON array (at most
/// max_callback_list_bytes, max_callback_entries entries, nested at most 16
/// levels) of objects with a positive integer `id`, string `url`, `type` and
/// `level` and an integer `objectId`; `description` and `payloadVersion`
/// strings, `inactiveFlag` and `isSelfSuppressedFlag` booleans and `memberId`
/// an integer when present and not null. Unknown fields are ignored. The error
/// names the entry (by index) and the field.
boost::system::result<std::vector<callback_entry>, std::string> parse_callback_entries(std::string_view body);
/// Parses one entry (the answer of a POST), with the same rules.
boost::system::result<callback_entry, std::string> parse_callback_entry(std::string_view body);

/// Why one of ticketsync's entries goes.
enum class removal_reason {
  stale_url,         ///< for a wanted board, but another URL than the configured one
  board_not_wanted,  ///< for a board no rule writes to any more
  inactive,          ///< the wanted entry, disabled by ConnectWise: replaced by an active one
  duplicate,         ///< a second entry of ticketsync's for the same board and URL
  not_board_level,   ///< not a ticket callback at board level (ticketsync registers no other)
};
std::string_view to_text(removal_reason r);

struct callback_removal {
  callback_entry entry;
  removal_reason why = removal_reason::stale_url;
};

/// What registration does, in ascending board id order.
struct registration_plan {
  std::vector<callback_entry> to_add;       ///< board_callback(board, url) for each wanted board lacking one
  std::vector<callback_removal> to_remove;  ///< ticketsync's entries that go
  std::vector<callback_entry> kept;         ///< ticketsync's entries that already do the job
  /// Entries of others that are exactly the wanted one (same URL, board,
  /// type and level): ConnectWise refuses a duplicate, so nothing is added
  /// for that board; they are left alone.
  std::vector<callback_entry> covered_by_others;
  std::size_t others = 0;  ///< entries that are not ticketsync's (all left alone)

  bool changes() const noexcept { return !to_add.empty() || !to_remove.empty(); }
};

/// From the registered `existing` entries, the wanted `boards` (duplicates and
/// ids ≤ 0 ignored) and the callback `url`: ticketsync's active entry for a
/// wanted board at `url` is kept (the first by id; later ones are duplicates);
/// its other entries go (stale URL, unwanted board, inactive, other level);
/// each wanted board without a kept entry gets one, unless another's entry is
/// exactly the wanted one. Planning against the result of applying a plan
/// gives a plan without changes. An empty `url` is a programming error.
registration_plan plan_registration(const std::vector<callback_entry>& existing,
                                    const std::vector<std::int64_t>& boards, std::string_view url);

/// How a board's callback stands, for doctor.
enum class board_callback_state {
  active,    ///< an active entry (ticketsync's or another's) for the board at the URL
  inactive,  ///< only inactive ones: ConnectWise disabled it after failed deliveries
  stale,     ///< none at the URL, but ticketsync has one for the board at another URL
  missing,   ///< none
};
struct board_callback_status {
  board_callback_state state = board_callback_state::missing;
  callback_entry entry;  ///< the entry the state is about (id 0 when missing)
};
board_callback_status board_callback_status_of(const std::vector<callback_entry>& existing, std::int64_t board,
                                               std::string_view url);

}  // namespace ts::psa
