// ConnectWise callbacks: parsing, the signature form, key_url checks
// (cw_callback.hpp). Pure: OpenSSL's libcrypto for the digests, Boost.URL for
// parsing key_url; no sockets, no clock.
#include "sources/cw_callback.hpp"

#include "core/text.hpp"
#include "sources/json_input.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <boost/url/parse.hpp>

#include <algorithm>
#include <array>
#include <limits>
#include <stdexcept>
#include <utility>

namespace ts::intake {
namespace {

using json = nlohmann::json;
using boost::system::in_place_error;

constexpr std::size_t max_type_bytes = 64;
constexpr std::size_t max_name_bytes = 200;
constexpr std::size_t max_url_bytes = 2048;
constexpr std::size_t max_signing_key_bytes = 1024;
constexpr std::int64_t max_record_id = std::int64_t{1} << 53;  // what a JSON number holds exactly

std::string too_long(std::size_t max, std::size_t got) {
  return "must be at most " + std::to_string(max) + " bytes (got " + std::to_string(got) + ")";
}

// A string field: no control characters, at most `max` bytes.
std::optional<event_error> check_text(const char* field, const std::string& s, std::size_t max) {
  if (s.size() > max) return field_error(field, too_long(max, s.size()));
  if (auto c = find_control(s, [](std::uint32_t) { return false; }))
    return field_error(field, "must not contain control characters (" + unicode_name(c->first) + " at byte " +
                                  std::to_string(c->second) + ")");
  return std::nullopt;
}

// A string or an integer (MemberId, MessageId), as text; nullopt when absent.
boost::system::result<std::optional<std::string>, event_error> string_or_integer(const json& doc, const char* name) {
  const json* v = find_field(doc, name);
  if (v == nullptr) return std::optional<std::string>{};
  std::string text;
  if (v->is_string()) {
    text = v->get<std::string>();
  } else if (v->is_number_integer()) {
    text = v->dump();
  } else {
    return {in_place_error, wrong_type(name, "a string or an integer", *v)};
  }
  if (auto bad = check_text(name, text, max_name_bytes)) return {in_place_error, std::move(*bad)};
  return std::optional<std::string>{std::move(text)};
}

// An optional string of Entity._info (lastUpdated, updatedBy): at most `max`
// bytes, no control characters.
boost::system::result<std::optional<std::string>, event_error> info_text(const json& info, const char* name,
                                                                         std::size_t max) {
  const std::string field = std::string("Entity._info.") + name;
  auto v = optional_string(info, name);
  if (!v) return {in_place_error, field_error(field, v.error().message)};
  if (*v) {
    if (auto bad = check_text(field.c_str(), **v, max)) return {in_place_error, std::move(*bad)};
  }
  return v;
}

// Entity: a JSON object, given as a string holding it (ConnectWise's form) or
// as the object itself.
boost::system::result<std::optional<json>, event_error> entity_of(const json& doc) {
  const json* v = find_field(doc, "Entity");
  if (v == nullptr) return std::optional<json>{};
  if (v->is_object()) return std::optional<json>{*v};
  if (!v->is_string()) return {in_place_error, wrong_type("Entity", "a string holding a JSON object", *v)};
  auto inner = parse_document(v->get_ref<const std::string&>());
  if (!inner) {
    const event_error& e = inner.error();
    return {in_place_error, field_error(e.field.empty() ? "Entity" : "Entity." + e.field, e.message)};
  }
  if (!inner->is_object())
    return {in_place_error,
            field_error("Entity", std::string("must hold a JSON object (got ") + inner->type_name() + ")")};
  return std::optional<json>{std::move(*inner)};
}

}  // namespace

std::string cw_callback::delivery_key() const {
  if (message_id) return "m:" + *message_id;
  const std::string record = "c:" + std::to_string(id) + ":";
  if (action == callback_action::deleted) return record + "deleted";
  if (last_updated) return record + std::string(to_text(action)) + ":" + *last_updated;
  return {};
}

boost::system::result<cw_callback, event_error> parse_callback(std::string_view body, std::size_t max_bytes) {
  if (body.size() > max_bytes)
    return {in_place_error, document_error("the body is " + std::to_string(body.size()) + " bytes; at most " +
                                           std::to_string(max_bytes) + " are accepted")};
  auto parsed = parse_document(body);
  if (!parsed) return {in_place_error, parsed.error()};
  const json& doc = *parsed;
  if (!doc.is_object())
    return {in_place_error, document_error(std::string("must be a JSON object (got ") + doc.type_name() + ")")};

  cw_callback cb;

  auto action = required_string(doc, "Action");
  if (!action) return {in_place_error, action.error()};
  if (auto a = from_text<callback_action>(ascii_lower(*action))) {
    cb.action = *a;
  } else {
    return {in_place_error, field_error("Action", "must be one of " + text_choices<callback_action>() + " (got " +
                                                      quote_value(*action) + ")")};
  }

  auto type = required_string(doc, "Type");
  if (!type) return {in_place_error, type.error()};
  if (type->empty()) return {in_place_error, field_error("Type", "must not be empty")};
  if (auto bad = check_text("Type", *type, max_type_bytes)) return {in_place_error, std::move(*bad)};
  cb.type = ascii_lower(*type);

  const json* id = find_field(doc, "ID");
  if (id == nullptr) return {in_place_error, field_error("ID", "is required")};
  if (!id->is_number_integer()) return {in_place_error, wrong_type("ID", "an integer", *id)};
  // nlohmann keeps a non-negative integer as unsigned, a negative one as signed.
  const bool in_range = id->is_number_unsigned()
                            ? id->get<std::uint64_t>() >= 1 && id->get<std::uint64_t>() <= std::uint64_t{1} << 53
                            : id->get<std::int64_t>() >= 1 && id->get<std::int64_t>() <= max_record_id;
  if (!in_range) return {in_place_error, field_error("ID", "must be between 1 and 2^53 (got " + id->dump() + ")")};
  cb.id = id->get<std::int64_t>();

  auto company = required_string(doc, "CompanyId");
  if (!company) return {in_place_error, company.error()};
  if (company->empty()) return {in_place_error, field_error("CompanyId", "must not be empty")};
  if (auto bad = check_text("CompanyId", *company, max_name_bytes)) return {in_place_error, std::move(*bad)};
  cb.company_id = std::move(*company);

  auto member = string_or_integer(doc, "MemberId");
  if (!member) return {in_place_error, member.error()};
  cb.member_id = member->value_or("");
  auto message = string_or_integer(doc, "MessageId");
  if (!message) return {in_place_error, message.error()};
  if (*message && !(*message)->empty()) cb.message_id = std::move(*message);

  auto from = optional_string(doc, "FromUrl");
  if (!from) return {in_place_error, from.error()};
  if (*from) {
    if (auto bad = check_text("FromUrl", **from, max_url_bytes)) return {in_place_error, std::move(*bad)};
    cb.from_url = std::move(**from);
  }

  const json* meta = find_field(doc, "Metadata");
  if (meta == nullptr) return {in_place_error, field_error("Metadata.key_url", "is required")};
  if (!meta->is_object()) return {in_place_error, wrong_type("Metadata", "an object", *meta)};
  auto key_url = required_string(*meta, "key_url");
  if (!key_url) {
    event_error e = key_url.error();
    e.field = "Metadata." + e.field;
    return {in_place_error, std::move(e)};
  }
  if (key_url->empty()) return {in_place_error, field_error("Metadata.key_url", "must not be empty")};
  if (auto bad = check_text("Metadata.key_url", *key_url, max_url_bytes)) return {in_place_error, std::move(*bad)};
  cb.key_url = std::move(*key_url);

  auto entity = entity_of(doc);
  if (!entity) return {in_place_error, entity.error()};
  if (*entity) {
    if (cb.action == callback_action::deleted)
      return {in_place_error, field_error("Entity", "must be null for a deleted record")};
    const json& e = **entity;
    if (const json* eid = find_field(e, "id")) {
      if (!eid->is_number_integer()) return {in_place_error, wrong_type("Entity.id", "an integer", *eid)};
      if (eid->get<std::int64_t>() != cb.id)
        return {in_place_error,
                field_error("Entity.id", "must equal ID " + std::to_string(cb.id) + " (got " + eid->dump() + ")")};
    }
    if (const json* info = find_field(e, "_info")) {
      if (!info->is_object()) return {in_place_error, wrong_type("Entity._info", "an object", *info)};
      auto last = info_text(*info, "lastUpdated", max_type_bytes);
      if (!last) return {in_place_error, last.error()};
      cb.last_updated = std::move(*last);
      auto by = info_text(*info, "updatedBy", max_name_bytes);
      if (!by) return {in_place_error, by.error()};
      cb.updated_by = std::move(*by);
    }
    cb.entity = std::move(*entity);
  }
  return cb;
}

std::string callback_signature(std::string_view signing_key, std::string_view body) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> key{};
  unsigned key_len = 0;
  if (EVP_Digest(signing_key.data(), signing_key.size(), key.data(), &key_len, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("SHA-256 failed");
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned mac_len = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key_len), reinterpret_cast<const unsigned char*>(body.data()),
           body.size(), mac.data(), &mac_len) == nullptr)
    throw std::runtime_error("HMAC-SHA256 failed");
  std::string out(std::size_t{4} * ((std::size_t{mac_len} + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), mac.data(), static_cast<int>(mac_len));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

bool signature_matches(std::string_view header, std::string_view signing_key, std::string_view body) {
  const auto first = header.find_first_not_of(" \t");
  if (first == std::string_view::npos) return false;
  header = header.substr(first, header.find_last_not_of(" \t") - first + 1);
  const std::string want = callback_signature(signing_key, body);
  return header.size() == want.size() && CRYPTO_memcmp(header.data(), want.data(), want.size()) == 0;
}

boost::system::result<key_location, event_error> check_key_url(std::string_view key_url,
                                                               const std::vector<std::string>& allowed_hosts) {
  constexpr const char* field = "Metadata.key_url";
  auto refuse = [&](const std::string& why) -> boost::system::result<key_location, event_error> {
    return {in_place_error, field_error(field, why + " (got " + quote_value(std::string(key_url)) + ")")};
  };
  auto u = boost::urls::parse_uri(key_url);  // a scheme is required; a fragment is refused below
  if (!u) return refuse("must be an absolute URL");
  if (ascii_lower(u->scheme()) != "https") return refuse("must use https");
  if (u->has_userinfo()) return refuse("must not carry user information");
  if (u->has_fragment()) return refuse("must not have a fragment");
  if (u->host_type() != boost::urls::host_type::name && u->host_type() != boost::urls::host_type::ipv4 &&
      u->host_type() != boost::urls::host_type::ipv6)
    return refuse("must name a host");
  const std::string host = ascii_lower(u->encoded_host_address());
  const bool allowed = std::any_of(allowed_hosts.begin(), allowed_hosts.end(),
                                   [&](const std::string& h) { return ascii_lower(h) == host; });
  if (!allowed) {
    std::string list;
    for (const auto& h : allowed_hosts) list += (list.empty() ? "" : ", ") + h;
    return refuse("must be on an allowed host (" + (list.empty() ? std::string("none configured") : list) + ")");
  }
  std::string port = "443";
  if (u->has_port()) {
    const auto p = u->port();
    const bool digits =
        !p.empty() && p.size() <= 5 && std::all_of(p.begin(), p.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits || std::stoi(std::string(p)) < 1 || std::stoi(std::string(p)) > 65535)
      return refuse("must have a port between 1 and 65535");
    port = std::string(p);
  }
  std::string target(u->encoded_path());
  if (target.empty() || target == "/") return refuse("must have a path");
  if (u->has_query()) target += "?" + std::string(u->encoded_query());
  return key_location{host, std::move(port), std::move(target)};
}

boost::system::result<std::string, event_error> parse_signing_key(std::string_view body) {
  if (body.size() > max_signing_key_answer_bytes)
    return {in_place_error, document_error("the key answer is " + std::to_string(body.size()) + " bytes; at most " +
                                           std::to_string(max_signing_key_answer_bytes) + " are accepted")};
  auto parsed = parse_document(body);
  if (!parsed) return {in_place_error, parsed.error()};
  if (!parsed->is_object())
    return {in_place_error, document_error(std::string("must be a JSON object (got ") + parsed->type_name() + ")")};
  auto key = required_string(*parsed, "signing_key");
  if (!key) return key;
  if (key->empty()) return {in_place_error, field_error("signing_key", "must not be empty")};
  if (key->size() > max_signing_key_bytes)
    return {in_place_error, field_error("signing_key", too_long(max_signing_key_bytes, key->size()))};
  return key;
}

}  // namespace ts::intake
