#include "core/issue_key.hpp"

#include <openssl/evp.h>

#include <array>
#include <stdexcept>

namespace ts {

std::string issue_identity::display() const { return source + "/" + tenant + "/" + issue_id; }

std::string sha256_hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
  unsigned int len = 0;
  if (EVP_Digest(data.data(), data.size(), md.data(), &len, EVP_sha256(), nullptr) != 1)
    throw std::runtime_error("SHA-256 failed");  // environmental: OpenSSL broken
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(std::size_t{len} * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out.push_back(hex[md[i] >> 4]);
    out.push_back(hex[md[i] & 0xF]);
  }
  return out;
}

std::string correlation_key(const issue_identity& id) {
  std::string enc;
  for (const std::string* part : {&id.source, &id.tenant, &id.issue_id}) {
    enc += std::to_string(part->size());
    enc += ':';
    enc += *part;
  }
  return "ts1:" + sha256_hex(enc);
}

}  // namespace ts
