// ConnectWise callbacks (reference connectwise-api.md §10): the body of a
// callback POST -> a validated cw_callback; the x-content-signature form; the
// checks on Metadata.key_url and on the signing key it returns. Pure: the
// listener that receives callbacks and the client that fetches the key are IO
// and hold none of these rules.
//
// Nothing in a callback is trusted for a decision that matters: the engine
// re-reads the ticket. What is kept here is what routing and duplicate
// detection need.
#pragma once

#include "core/enum_text.hpp"
#include "sources/event_parser.hpp"

#include <nlohmann/json.hpp>

#include <boost/system/result.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ts::intake {

enum class callback_action { added, updated, deleted };

/// Largest callback body accepted. A ticket's Entity is a few kilobytes; the
/// largest seen in ConnectWise's samples is under 20 KiB.
inline constexpr std::size_t max_callback_bytes = std::size_t{256} * 1024;

struct cw_callback {
  callback_action action = callback_action::updated;
  std::string type;                         ///< record type, lower-cased ("ticket")
  std::int64_t id = 0;                      ///< the record's id (`ID`), > 0
  std::optional<std::string> message_id;    ///< `MessageId`, when the payload carries one (undocumented)
  std::string member_id;                    ///< `MemberId`, as text ("" when absent)
  std::string company_id;                   ///< `CompanyId`: the PSA company (login company id)
  std::string from_url;                     ///< `FromUrl` ("" when absent)
  std::string key_url;                      ///< `Metadata.key_url`: where the signing key is
  std::optional<nlohmann::json> entity;     ///< `Entity` parsed (an object); none on delete
  std::optional<std::string> last_updated;  ///< `Entity._info.lastUpdated`
  std::optional<std::string> updated_by;    ///< `Entity._info.updatedBy`

  /// What identifies a delivery, for dropping repeats: `m:<MessageId>` when
  /// the payload carries one; `c:<ID>:<action>:<lastUpdated>` when the Entity
  /// says when it changed; `c:<ID>:deleted` for a delete (a record is deleted
  /// once); "" when none can be formed (then every delivery is processed: the
  /// re-read makes that harmless).
  std::string delivery_key() const;
};

/// Parses and validates one callback body (at most max_bytes). Rules:
///  - the body is a JSON object (hostile-JSON rules of json_input.hpp);
///  - `Action`: "added", "updated" or "deleted" (any letter case);
///  - `Type`: a non-empty token of at most 64 bytes, kept lower-cased;
///  - `ID`: an integer in 1..2^53;
///  - `CompanyId`: a string of 1..200 bytes; `MemberId`: a string or an
///    integer, at most 200 bytes; `MessageId`: a string or an integer;
///    `FromUrl`: a string of at most 2,048 bytes; none with control characters;
///  - `Metadata`: an object whose `key_url` is a string of 1..2,048 bytes;
///  - `Entity`: null or absent (required null on "deleted"), else a string
///    holding a JSON object (ConnectWise's form) or the object itself; its `id`,
///    when present, equals `ID`; `_info.lastUpdated` and `_info.updatedBy`,
///    when present, are strings.
boost::system::result<cw_callback, event_error> parse_callback(std::string_view body,
                                                               std::size_t max_bytes = max_callback_bytes);

/// The x-content-signature of `body` as the Developer Guide describes it:
/// Base64(HMAC-SHA256(key = SHA-256(signing_key), data = body)), over the
/// body's bytes exactly as received. The one place that knows the form.
std::string callback_signature(std::string_view signing_key, std::string_view body);

/// Whether `header` (surrounding blanks ignored) is the signature of `body`
/// under `signing_key`. Compares in constant time.
bool signature_matches(std::string_view header, std::string_view signing_key, std::string_view body);

/// Where to fetch a signing key from, once key_url has passed the checks.
struct key_location {
  std::string host;    ///< lower-cased
  std::string port;    ///< "443" unless the URL names another
  std::string target;  ///< path and query, as in the URL
};

/// Checks `key_url` before anything is fetched from it: an absolute https URL
/// without user information or fragment, whose host is one of
/// `allowed_hosts` (compared without letter case), with a path. Errors name
/// the field `Metadata.key_url`.
boost::system::result<key_location, event_error> check_key_url(std::string_view key_url,
                                                               const std::vector<std::string>& allowed_hosts);

/// Largest key_url answer accepted.
inline constexpr std::size_t max_signing_key_answer_bytes = std::size_t{16} * 1024;

/// The signing key from key_url's answer: a JSON object whose `signing_key` is
/// a string of 1..1,024 bytes.
boost::system::result<std::string, event_error> parse_signing_key(std::string_view body);

}  // namespace ts::intake

template <>
struct ts::enum_text<ts::intake::callback_action> {
  static constexpr std::array<std::pair<ts::intake::callback_action, std::string_view>, 3> names{{
      {ts::intake::callback_action::added, "added"},
      {ts::intake::callback_action::updated, "updated"},
      {ts::intake::callback_action::deleted, "deleted"},
  }};
};
