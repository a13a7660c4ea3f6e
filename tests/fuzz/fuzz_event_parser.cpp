// libFuzzer target for sources/event_parser (and, for accepted events, the
// rules mapping that consumes them). Arbitrary bytes must never crash the
// parser; accepted events must satisfy schema v1 and survive a round trip
// through event::to_json(); rejections must carry a printable, valid UTF-8
// message. Seeds: tests/fuzz/corpus/event/.
//
// Build by hand (from the repository root; until CMake's TS_FUZZ wires it):
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Ilib
//     tests/fuzz/fuzz_event_parser.cpp lib/core/*.cpp lib/sources/event_parser.cpp
//     lib/rules/mapping.cpp -lcrypto -lfmt -o fuzz_event_parser
// Run on a copy of the seeds (libFuzzer adds files to the directory it is given):
//   cp -r tests/fuzz/corpus/event /tmp/corpus && ./fuzz_event_parser -max_len=4096 /tmp/corpus
#include "core/issue_key.hpp"
#include "fuzz/fuzz_check.hpp"
#include "rules/mapping.hpp"
#include "sources/event_parser.hpp"
#include "support/utf8.hpp"

#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

// The intake's default max_event_bytes: larger files never reach the parser.
constexpr std::size_t max_event_bytes = 256u << 10;

using ts::test::is_valid_utf8;

bool has_c0_control(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) return true;
  return false;
}

void check_accepted(const ts::event& ev) {
  for (const std::string* id : {&ev.source, &ev.tenant, &ev.issue_id}) {
    CHECK(!id->empty() && id->size() <= 200, *id);
    CHECK(!has_c0_control(*id), *id);
  }
  CHECK(!ev.title.empty() && ev.title.size() <= 1000);
  CHECK(ev.title.find_first_of("\r\n") == std::string::npos, ev.title);
  CHECK(ev.attributes.is_object());
  CHECK(ev.extra.is_object());
  for (const char* known : {"source", "tenant", "issue_id", "state", "severity", "title", "description", "category",
                            "asset", "url", "tags", "updated_at", "attributes"})
    CHECK(!ev.extra.contains(known), known);
  CHECK(ts::parse_rfc3339(ev.updated_at_text) == ev.updated_at, ev.updated_at_text);

  // Round trip: the JSON ticketsync would re-emit parses to the same event.
  const nlohmann::json j = ev.to_json();
  const std::string text = j.dump();
  auto again = ts::intake::parse_event(text);
  CHECK(again.has_value(), again ? std::string{} : again.error().to_string() + "\n" + text);
  const ts::event& b = *again;
  CHECK(b.source == ev.source && b.tenant == ev.tenant && b.issue_id == ev.issue_id);
  CHECK(b.state == ev.state && b.severity == ev.severity);
  CHECK(b.title == ev.title);
  CHECK(b.description == ev.description && b.category == ev.category && b.asset == ev.asset && b.url == ev.url);
  CHECK(b.tags == ev.tags);
  CHECK(b.updated_at == ev.updated_at && b.updated_at_text == ev.updated_at_text);
  CHECK(b.attributes == ev.attributes);
  CHECK(b.extra == ev.extra);
  CHECK(b.to_json() == j);

  // The mapping accepts every valid event under the default templates and
  // keeps the summary within ConnectWise's limit.
  ts::config::config cfg;
  cfg.companies.default_company = "Default";
  auto ticket = ts::rules::map_event(ev, cfg);
  CHECK(ticket.has_value(), ticket ? std::string{} : ticket.error().what);
  CHECK(!ticket->summary.empty());
  CHECK(ts::rules::utf16_length(ticket->summary) <= 100, ticket->summary);
  CHECK(is_valid_utf8(ticket->summary), ticket->summary);
  CHECK(!has_c0_control(ticket->summary), ticket->summary);  // one line
  CHECK(ticket->external_xref == ts::correlation_key({ev.source, ev.tenant, ev.issue_id}));
}

void check_rejected(const ts::intake::event_error& e) {
  CHECK(!e.message.empty());
  const std::string text = e.to_string();
  CHECK(is_valid_utf8(text), text);
  CHECK(text.size() < 1024, text);
  CHECK(!has_c0_control(text), text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > max_event_bytes) return -1;  // not added to the corpus
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  auto r = ts::intake::parse_event(input);
  if (r) {
    check_accepted(*r);
  } else {
    check_rejected(r.error());
  }

  // truncate_utf16 promises valid UTF-8 within the limit for any bytes.
  for (std::size_t max : {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{100}}) {
    const std::string cut = ts::rules::truncate_utf16(input, max);
    CHECK(is_valid_utf8(cut));
    CHECK(ts::rules::utf16_length(cut) <= max);
  }
  return 0;
}
