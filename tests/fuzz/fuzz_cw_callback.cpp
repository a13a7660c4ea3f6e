// libFuzzer target for sources/cw_callback: arbitrary bytes as a ConnectWise
// callback body, as its Metadata.key_url and as key_url's answer must never
// crash; what is accepted keeps the parser's promises; rejections carry a
// printable, valid UTF-8 message. Seeds: tests/fuzz/corpus/callback/.
#include "fuzz/fuzz_check.hpp"
#include "sources/cw_callback.hpp"
#include "support/utf8.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace {

using ts::intake::callback_action;

void check_rejected(const ts::intake::event_error& e) {
  CHECK(!e.message.empty());
  const std::string text = e.to_string();
  CHECK(ts::test::is_valid_utf8(text), text);
  CHECK(text.size() < 1024, text);
  for (char c : text) CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7F, text);
}

void check_accepted(const ts::intake::cw_callback& cb) {
  CHECK(cb.id >= 1 && cb.id <= (std::int64_t{1} << 53));
  CHECK(!cb.type.empty() && cb.type.size() <= 64, cb.type);
  for (char c : cb.type) CHECK(!(c >= 'A' && c <= 'Z'), cb.type);
  CHECK(!cb.company_id.empty() && cb.company_id.size() <= 200);
  CHECK(!cb.key_url.empty() && cb.key_url.size() <= 2048);
  CHECK(cb.member_id.size() <= 200);
  if (cb.action == callback_action::deleted) CHECK(!cb.entity);
  if (cb.entity) CHECK(cb.entity->is_object());
  const std::string key = cb.delivery_key();
  if (cb.message_id || cb.action == callback_action::deleted || cb.last_updated) CHECK(!key.empty());
  if (!key.empty()) CHECK(key.starts_with("m:") || key.starts_with("c:" + std::to_string(cb.id) + ":"), key);

  const std::vector<std::string> allowed = {"na.myconnectwise.net"};
  auto loc = ts::intake::check_key_url(cb.key_url, allowed);
  if (loc) {
    CHECK(loc->host == "na.myconnectwise.net", loc->host);
    CHECK(!loc->port.empty() && loc->port.size() <= 5, loc->port);
    CHECK(loc->target.starts_with("/") && loc->target.size() > 1, loc->target);
  } else {
    check_rejected(loc.error());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size > ts::intake::max_callback_bytes) return -1;
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  auto cb = ts::intake::parse_callback(input);
  if (cb) {
    check_accepted(*cb);
  } else {
    check_rejected(cb.error());
  }

  auto loc = ts::intake::check_key_url(input, {"na.myconnectwise.net"});
  if (!loc) check_rejected(loc.error());

  auto key = ts::intake::parse_signing_key(input);
  if (key) {
    CHECK(!key->empty() && key->size() <= 1024);
  } else {
    check_rejected(key.error());
  }

  // The signature of any body under any key matches itself, and not a body one byte longer.
  const std::string sig = ts::intake::callback_signature(input, input);
  CHECK(ts::intake::signature_matches(sig, input, input));
  CHECK(!ts::intake::signature_matches(sig, input, std::string(input) + "x"));
  return 0;
}
