// libFuzzer target for the ConnectWise response codec (psa/cw_codec.hpp).
// Every input is handed, as a response body, to each response parser:
// parse_cw_error (HTTP status taken from the first byte), parse_codebase,
// parse_ticket, parse_ticket_list, parse_named_list (and resolve_name /
// closest_names on its result), parse_note_list, parse_note and
// parse_retry_after (against a fixed `now`). The same bytes, read through
// FuzzedDataProvider, also supply strings for encode_ticket_create,
// encode_patch and encode_note, whose output must be JSON that parses back to
// the same values once invalid UTF-8 is replaced by U+FFFD.
//
// Only what cw_codec.hpp promises is checked; nothing may crash or throw.
// Seeds: tests/fuzz/corpus/cw/. Build and run: scripts/fuzz.sh (TS_FUZZ=ON).
#include "fuzz/fuzz_check.hpp"
#include "psa/cw_codec.hpp"
#include "support/utf8.hpp"

#include <fuzzer/FuzzedDataProvider.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace {

using json = nlohmann::json;
namespace psa = ts::psa;

using ts::test::is_valid_utf8;

// Larger bodies add nothing the parsers have not seen at this size.
constexpr std::size_t max_body_bytes = 64u << 10;

bool has_c0_control(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) return true;
  return false;
}

/// `s` with every ill-formed UTF-8 subsequence replaced by U+FFFD, one per
/// maximal subpart (Unicode 15, section 3.9, "U+FFFD Substitution of Maximal
/// Subparts"): what a JSON encoder that replaces invalid UTF-8 emits.
std::string utf8_replaced(std::string_view s) {
  static constexpr std::string_view replacement = "\xEF\xBF\xBD";
  std::string out;
  out.reserve(s.size());
  std::size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      out.push_back(s[i++]);
      continue;
    }
    std::size_t trail = 0;               // continuation bytes needed
    unsigned char lo = 0x80, hi = 0xBF;  // range of the first of them
    if (b >= 0xC2 && b <= 0xDF) {
      trail = 1;
    } else if (b >= 0xE0 && b <= 0xEF) {
      trail = 2;
      if (b == 0xE0) lo = 0xA0;  // no overlong forms
      if (b == 0xED) hi = 0x9F;  // no surrogates
    } else if (b >= 0xF0 && b <= 0xF4) {
      trail = 3;
      if (b == 0xF0) lo = 0x90;  // no overlong forms
      if (b == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
    } else {
      out.append(replacement);  // C0, C1, F5..FF, stray continuation
      ++i;
      continue;
    }
    std::size_t k = 1;
    for (; k <= trail && i + k < s.size(); ++k) {
      const auto c = static_cast<unsigned char>(s[i + k]);
      if (c < (k == 1 ? lo : 0x80) || c > (k == 1 ? hi : 0xBF)) break;
    }
    if (k > trail) {
      out.append(s.substr(i, trail + 1));
    } else {
      out.append(replacement);  // the valid prefix is one maximal subpart
    }
    i += k;
  }
  return out;
}

json parse_json(std::string_view text) { return json::parse(text, nullptr, false); }

std::optional<std::string> string_member(const json& j, const char* key) {
  if (!j.is_object()) return std::nullopt;
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

bool has_integer_id(const json& j) {
  if (!j.is_object()) return false;
  auto it = j.find("id");
  if (it == j.end() || !it->is_number_integer()) return false;
  // Record ids are positive and fit in int64; 0, negatives and wrapped values are refused.
  if (it->is_number_unsigned()) {
    const auto v = it->get<std::uint64_t>();
    return v != 0 && v <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  }
  return it->get<std::int64_t>() > 0;
}

// ---- parse_cw_error ---------------------------------------------------------

void check_cw_error(int status, std::string_view body) {
  const psa::cw_error e = psa::parse_cw_error(status, body);
  CHECK(e.http_status == status);
  const json j = parse_json(body);

  if (j.is_discarded()) {
    // Not JSON: code empty, message = start of the body, control characters
    // replaced, at most 200 bytes.
    CHECK(e.code.empty(), e.code);
    CHECK(e.errors.empty());
    CHECK(e.message.size() <= 200, e.message);
    CHECK(!has_c0_control(e.message), e.message);
    // Where the body is valid UTF-8 and has no control characters, the
    // message is its start (invalid bytes become U+FFFD otherwise).
    if (!has_c0_control(body) && is_valid_utf8(body)) CHECK(body.substr(0, e.message.size()) == e.message, e.message);
    CHECK(is_valid_utf8(e.message), e.message);
  } else if (j.is_object()) {
    const auto code = string_member(j, "code");
    const auto error = string_member(j, "error");
    if (code && !code->empty()) {
      CHECK(e.code == *code, e.code);
    } else if (!j.contains("code") && error) {
      CHECK(e.code == *error, e.code);  // the 429 variant
    }
    if (const auto message = string_member(j, "message")) CHECK(e.message == *message, e.message);
    const auto errors = j.find("errors");
    if (errors == j.end() || errors->is_null()) CHECK(e.errors.empty());
    if (errors != j.end() && errors->is_array()) {
      CHECK(e.errors.size() <= errors->size());
      if (std::all_of(errors->begin(), errors->end(), [](const json& v) { return v.is_object(); })) {
        CHECK(e.errors.size() == errors->size());
        for (std::size_t i = 0; i < e.errors.size(); ++i) {
          const json& v = (*errors)[i];
          const psa::cw_validation_error& ve = e.errors[i];
          if (auto s = string_member(v, "code")) CHECK(ve.code == *s);
          if (auto s = string_member(v, "message")) CHECK(ve.message == *s);
          if (auto s = string_member(v, "resource")) CHECK(ve.resource == *s);
          if (auto s = string_member(v, "field")) CHECK(ve.field == *s);
        }
      }
    }
  }

  std::string text;
  try {
    text = e.to_string();
  } catch (const std::exception& ex) {
    ts::fuzz::fail("cw_error::to_string threw", ex.what());
  }
  const std::string head = "HTTP " + std::to_string(status);
  CHECK(text.compare(0, head.size(), head) == 0, text);
  if (!e.code.empty()) CHECK(text.find(e.code) != std::string::npos, text);
  if (!e.message.empty()) CHECK(text.find(e.message) != std::string::npos, text);

  std::string first_field;
  for (const auto& ve : e.errors)
    if (!ve.field.empty()) {
      first_field = ve.field;
      break;
    }
  CHECK(e.field() == first_field, e.field());
}

// ---- parse_codebase ---------------------------------------------------------

void check_codebase(std::string_view body, const json& j) {
  const auto cb = psa::parse_codebase(body);
  if (!j.is_object()) CHECK(!cb.has_value(), *cb);  // incl. `null`: unknown company
  if (!cb) return;
  CHECK(!cb->empty());
  CHECK(cb->back() == '/', *cb);
  CHECK(psa::api_prefix(*cb) == "/" + *cb + "apis/3.0", *cb);
}

// ---- tickets ------------------------------------------------------------------

bool same_ticket(const psa::ticket_info& a, const psa::ticket_info& b) {
  return a.id == b.id && a.summary == b.summary && a.external_xref == b.external_xref &&
         a.company_identifier == b.company_identifier && a.board_id == b.board_id && a.status_id == b.status_id &&
         a.priority_id == b.priority_id && a.closed == b.closed;
}

void check_ticket(std::string_view body, const json& j) {
  const auto t = psa::parse_ticket(body);
  // psa_protocol exactly when the body is not an object with an integer id.
  CHECK(t.has_value() == has_integer_id(j), std::string(body));
  if (!t) {
    CHECK(t.error() == ts::errc::psa_protocol, t.error().message());
    return;
  }
  CHECK(t->id == j["id"].get<std::int64_t>());
  if (auto s = string_member(j, "summary")) CHECK(t->summary == *s);
  if (auto s = string_member(j, "externalXRef")) CHECK(t->external_xref == *s);
  if (auto it = j.find("closedFlag"); it != j.end() && it->is_boolean()) CHECK(t->closed == it->get<bool>());
}

void check_ticket_list(std::string_view body, const json& j) {
  const auto list = psa::parse_ticket_list(body);
  if (!j.is_array()) {
    CHECK(!list.has_value());
    return;
  }
  // An array of tickets parses iff each element parses as one ticket, and to
  // the same values.
  std::vector<psa::ticket_info> one_by_one;
  bool all = true;
  for (const auto& v : j) {
    auto t = psa::parse_ticket(v.dump());
    if (!t) {
      all = false;
      break;
    }
    one_by_one.push_back(std::move(*t));
  }
  CHECK(list.has_value() == all, std::string(body));
  if (!list) return;
  CHECK(list->size() == one_by_one.size());
  for (std::size_t i = 0; i < list->size(); ++i) CHECK(same_ticket((*list)[i], one_by_one[i]), std::to_string(i));
}

// ---- named lists --------------------------------------------------------------

std::string ascii_upper(std::string s) {
  for (char& c : s)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return s;
}

void check_resolve(const std::vector<psa::named_ref>& items, const std::string& name) {
  const bool exact_active =
      std::any_of(items.begin(), items.end(), [&](const psa::named_ref& r) { return !r.inactive && r.name == name; });
  const auto r = psa::resolve_name(items, name);
  if (exact_active) CHECK(r.has_value() && r->name == name, name);
  if (r) {
    CHECK(!r->inactive, r->name);
    CHECK(std::any_of(items.begin(), items.end(),
                      [&](const psa::named_ref& x) { return x.id == r->id && x.name == r->name && !x.inactive; }));
  } else {
    CHECK(r.error() == ts::errc::psa_not_found, r.error().message());
  }

  const auto active = static_cast<std::size_t>(
      std::count_if(items.begin(), items.end(), [](const psa::named_ref& x) { return !x.inactive; }));
  const auto close = psa::closest_names(items, name, 3);
  CHECK(close.size() <= std::min<std::size_t>(3, active));
  for (const auto& n : close)
    CHECK(std::any_of(items.begin(), items.end(), [&](const psa::named_ref& x) { return !x.inactive && x.name == n; }),
          n);
}

void check_named_list(std::string_view body, const json& j) {
  const auto list = psa::parse_named_list(body);
  if (!j.is_array()) {
    CHECK(!list.has_value());
    return;
  }
  const bool well_formed = std::all_of(
      j.begin(), j.end(), [](const json& v) { return has_integer_id(v) && string_member(v, "name").has_value(); });
  if (well_formed) CHECK(list.has_value(), std::string(body));  // objects with id and name
  if (!list) return;
  CHECK(list->size() == j.size());
  for (std::size_t i = 0; i < list->size(); ++i) {
    const json& v = j[i];
    const psa::named_ref& r = (*list)[i];
    CHECK(has_integer_id(v));
    CHECK(r.id == v["id"].get<std::int64_t>());
    if (auto s = string_member(v, "name")) CHECK(r.name == *s);
    if (auto it = v.find("closedStatus"); it != v.end() && it->is_boolean()) CHECK(r.closed_status == it->get<bool>());
    if (auto it = v.find("defaultFlag"); it != v.end() && it->is_boolean()) CHECK(r.default_flag == it->get<bool>());
  }
  // Real names are short (<= 50); keep the edit distances cheap.
  for (std::size_t i = 0; i < list->size() && i < 4; ++i) {
    if ((*list)[i].name.size() > 64) continue;
    check_resolve(*list, (*list)[i].name);
    check_resolve(*list, ascii_upper((*list)[i].name));
  }
  check_resolve(*list, "");
}

// ---- notes --------------------------------------------------------------------

void check_notes(std::string_view body, const json& j) {
  const auto note = psa::parse_note(body);
  if (note) {
    CHECK(has_integer_id(j), std::string(body));
    CHECK(note->id == j["id"].get<std::int64_t>());
    if (auto s = string_member(j, "text")) CHECK(note->text == *s);
  }

  const auto list = psa::parse_note_list(body);
  if (!j.is_array()) {
    CHECK(!list.has_value());
    return;
  }
  std::vector<psa::note_info> one_by_one;
  bool all = true;
  for (const auto& v : j) {
    auto n = psa::parse_note(v.dump());
    if (!n) {
      all = false;
      break;
    }
    one_by_one.push_back(std::move(*n));
  }
  CHECK(list.has_value() == all, std::string(body));
  if (!list) return;
  CHECK(list->size() == one_by_one.size());
  for (std::size_t i = 0; i < list->size(); ++i)
    CHECK((*list)[i].id == one_by_one[i].id && (*list)[i].text == one_by_one[i].text, std::to_string(i));
}

// ---- parse_retry_after --------------------------------------------------------

// A fixed `now`: 2026-03-09T09:02:51.337Z.
const ts::sys_ms fixed_now = ts::from_unix_ms(1773046971337);
constexpr std::chrono::milliseconds max_wait = std::chrono::hours{24};

void check_wait(const std::optional<std::chrono::milliseconds>& w, const std::string& value) {
  if (w) CHECK(*w >= std::chrono::milliseconds{0} && *w <= max_wait, value);
}

std::string imf_fixdate(std::chrono::sys_seconds t) {
  using namespace std::chrono;
  static constexpr const char* wday[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const auto day = floor<days>(t);
  const year_month_day ymd{day};
  const hh_mm_ss tod{t - day};
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02u %s %04d %02d:%02d:%02d GMT", wday[weekday{day}.c_encoding()],
                static_cast<unsigned>(ymd.day()), mon[static_cast<unsigned>(ymd.month()) - 1],
                static_cast<int>(ymd.year()), static_cast<int>(tod.hours().count()),
                static_cast<int>(tod.minutes().count()), static_cast<int>(tod.seconds().count()));
  return buf;
}

// delta-seconds: that many seconds, capped at a day.
void check_delta_seconds(const std::string& value) {
  if (value.empty() || !std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) return;
  std::int64_t secs = 0;
  for (char c : value) {
    secs = secs * 10 + (c - '0');
    if (secs >= 24 * 3600) {
      secs = 24 * 3600;
      break;
    }
  }
  const auto w = psa::parse_retry_after(value, fixed_now);
  CHECK(w.has_value() && *w == std::chrono::seconds{secs}, value);
}

void check_retry_after(std::string_view body, FuzzedDataProvider& fdp) {
  const std::string value(body);
  const auto w = psa::parse_retry_after(value, fixed_now);
  check_wait(w, value);
  if (value.empty()) CHECK(!w.has_value());  // absent
  check_delta_seconds(value);

  // Generated delta-seconds, up to far beyond what an int64 holds.
  std::string digits(fdp.ConsumeIntegralInRange<std::size_t>(1, 40), '0');
  for (char& c : digits) c = static_cast<char>('0' + fdp.ConsumeIntegralInRange<int>(0, 9));
  check_delta_seconds(digits);

  // A generated HTTP date: the wait until then, zero when past, at most a day.
  using namespace std::chrono;
  constexpr auto first = sys_days{year{1000} / January / 1};
  constexpr auto last = sys_days{year{9999} / December / 31};
  const auto now_s = floor<seconds>(fixed_now);
  const sys_seconds at =
      fdp.ConsumeBool()
          ? now_s + seconds{fdp.ConsumeIntegralInRange<std::int64_t>(-3 * 86400, 3 * 86400)}  // around now
          : sys_seconds{seconds{fdp.ConsumeIntegralInRange<std::int64_t>(
                first.time_since_epoch() / seconds{1}, (last.time_since_epoch() + days{1}) / seconds{1} - 1)}};
  const std::string date = imf_fixdate(at);
  const auto dw = psa::parse_retry_after(date, fixed_now);
  CHECK(dw.has_value(), date);
  const auto want = std::clamp<milliseconds>(at - fixed_now, milliseconds{0}, max_wait);
  CHECK(*dw == want, date + " -> " + std::to_string(dw->count()) + " ms");
}

// ---- encoders -----------------------------------------------------------------

// A string from the front of the input, its length from the back: the body's
// bytes (invalid UTF-8 included) spread over every field.
std::string take_string(FuzzedDataProvider& fdp) {
  return fdp.ConsumeBytesAsString(fdp.ConsumeIntegralInRange<std::size_t>(0, 300));
}

std::int64_t ref(const json& j, const char* key) {
  CHECK(j.contains(key) && j[key].is_object() && j[key].size() == 1, key);
  const json& id = j[key]["id"];
  CHECK(id.is_number_integer(), key);
  return id.get<std::int64_t>();
}

json parse_encoded(const std::string& text) {
  json j = parse_json(text);
  CHECK(!j.is_discarded(), text);
  return j;
}

void check_string_member(const json& j, const char* key, const std::string& original) {
  const auto s = string_member(j, key);
  CHECK(s.has_value(), key);
  CHECK(*s == utf8_replaced(original), key);
}

void check_ticket_create(FuzzedDataProvider& fdp) {
  psa::ticket_create t;
  t.summary = take_string(fdp);
  t.company_identifier = take_string(fdp);
  t.initial_description = take_string(fdp);
  t.external_xref = take_string(fdp);
  t.severity = take_string(fdp);
  t.impact = take_string(fdp);
  t.board_id = fdp.ConsumeIntegral<std::int64_t>();
  t.status_id = fdp.ConsumeIntegral<std::int64_t>();
  t.priority_id = fdp.ConsumeIntegral<std::int64_t>();

  const std::string text = psa::encode_ticket_create(t);
  const json j = parse_encoded(text);
  CHECK(j.is_object(), text);
  check_string_member(j, "summary", t.summary);
  check_string_member(j, "initialDescription", t.initial_description);
  check_string_member(j, "externalXRef", t.external_xref);
  CHECK(string_member(j, "recordType") == "ServiceTicket", text);
  CHECK(j.contains("company") && j["company"].is_object(), text);
  check_string_member(j["company"], "identifier", t.company_identifier);
  CHECK(ref(j, "board") == t.board_id, text);
  CHECK(ref(j, "status") == t.status_id, text);
  CHECK(ref(j, "priority") == t.priority_id, text);
  // severity and impact are omitted when empty
  CHECK(j.contains("severity") == !t.severity.empty(), text);
  if (!t.severity.empty()) check_string_member(j, "severity", t.severity);
  CHECK(j.contains("impact") == !t.impact.empty(), text);
  if (!t.impact.empty()) check_string_member(j, "impact", t.impact);
}

void check_patch(FuzzedDataProvider& fdp) {
  std::vector<psa::patch_op> ops;
  std::vector<std::pair<std::string, json>> want;  // original path, expected value
  const int n = fdp.ConsumeIntegralInRange<int>(0, 4);
  for (int i = 0; i < n; ++i) {
    std::string path = take_string(fdp);
    switch (fdp.ConsumeIntegralInRange<int>(0, 2)) {
      case 0: {
        const std::string value = take_string(fdp);
        ops.push_back(psa::replace_string(path, value));
        CHECK(ops.back().path == path);
        want.emplace_back(path, json(utf8_replaced(value)));
        break;
      }
      case 1: {
        const auto id = fdp.ConsumeIntegral<std::int64_t>();
        ops.push_back(psa::replace_reference(path, id));
        CHECK(ops.back().path == path);
        want.emplace_back(path, json{{"id", id}});  // references as whole objects
        break;
      }
      default: {
        // Any JSON text is a valid value_json.
        const std::string raw = take_string(fdp);
        json value = parse_json(raw);
        // Skip what JSON cannot carry back (1e999 is an infinity, dumped as null).
        if (value.is_discarded() || parse_json(value.dump()) != value) continue;
        ops.push_back({path, raw});
        want.emplace_back(path, std::move(value));
        break;
      }
    }
    CHECK(parse_encoded(ops.back().value_json) == want.back().second, ops.back().value_json);
  }

  const std::string text = psa::encode_patch(ops);
  const json j = parse_encoded(text);
  CHECK(j.is_array() && j.size() == ops.size(), text);
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const json& op = j[i];
    CHECK(op.is_object(), text);
    CHECK(string_member(op, "op") == "replace", text);
    check_string_member(op, "path", want[i].first);
    CHECK(op.contains("value") && op["value"] == want[i].second, text);
  }
}

void check_note_encoding(FuzzedDataProvider& fdp) {
  const std::string text = take_string(fdp);
  const auto area = static_cast<psa::note_area>(fdp.ConsumeIntegralInRange<int>(0, 2));
  const std::string body = psa::encode_note(text, area);
  const json j = parse_encoded(body);
  CHECK(j.is_object(), body);
  check_string_member(j, "text", text);
  const auto flag = [&](const char* key) {
    CHECK(j.contains(key) && j[key].is_boolean(), body);
    return j[key].get<bool>();
  };
  CHECK(flag("detailDescriptionFlag") == (area == psa::note_area::discussion), body);
  CHECK(flag("internalAnalysisFlag") == (area == psa::note_area::internal_analysis), body);
  CHECK(flag("resolutionFlag") == (area == psa::note_area::resolution), body);
  CHECK(!flag("processNotifications"), body);  // notes send no e-mail
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > max_body_bytes) return -1;  // not added to the corpus
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  const json j = parse_json(body);

  const int status = size == 0 ? 0 : 300 + data[0];  // 300..555: every 4xx and 5xx
  check_cw_error(status, body);
  check_codebase(body, j);
  check_ticket(body, j);
  check_ticket_list(body, j);
  check_named_list(body, j);
  check_notes(body, j);

  FuzzedDataProvider fdp(data, size);
  check_retry_after(body, fdp);
  check_ticket_create(fdp);
  check_patch(fdp);
  check_note_encoding(fdp);
  return 0;
}
