#include "rules/regex.hpp"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

namespace ts::rules {

namespace {
// Generous for titles and attribute values (≤ 256 KiB events), tight enough
// that a pathological pattern fails fast instead of stalling the sync loop.
constexpr std::uint32_t match_limit = 1'000'000;
constexpr std::uint32_t depth_limit = 10'000;
// Backtracking frames live on the heap and grow with the number of capture
// groups: without a cap, 5000 groups ("(a?)" x 5000) take ~800 MB on a short
// subject. In KiB: 32 MiB.
constexpr std::uint32_t heap_limit_kib = 32 * 1024;
}  // namespace

struct regex::code {
  pcre2_code* re = nullptr;
  pcre2_match_context* ctx = nullptr;
  ~code() {
    pcre2_match_context_free(ctx);
    pcre2_code_free(re);
  }
};

std::optional<regex> regex::compile(std::string_view pattern, std::string* error) {
  int err = 0;
  PCRE2_SIZE offset = 0;
  pcre2_code* re = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                 PCRE2_UTF | PCRE2_MATCH_INVALID_UTF, &err, &offset, nullptr);
  if (re == nullptr) {
    if (error != nullptr) {
      PCRE2_UCHAR buf[256];
      const int n = pcre2_get_error_message(err, buf, sizeof buf);
      *error = (n > 0 ? std::string(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(n))
                      : std::string("invalid regular expression")) +
               " at offset " + std::to_string(offset);
    }
    return std::nullopt;
  }
  auto c = std::make_shared<code>();
  c->re = re;
  c->ctx = pcre2_match_context_create(nullptr);
  if (c->ctx == nullptr) {
    if (error != nullptr) *error = "out of memory";
    return std::nullopt;
  }
  pcre2_set_match_limit(c->ctx, match_limit);
  pcre2_set_depth_limit(c->ctx, depth_limit);
  pcre2_set_heap_limit(c->ctx, heap_limit_kib);
  return regex(std::string(pattern), std::move(c));
}

bool regex::search(std::string_view subject) const {
  if (!code_) return false;
  pcre2_match_data* md = pcre2_match_data_create_from_pattern(code_->re, nullptr);
  if (md == nullptr) return false;
  const int rc =
      pcre2_match(code_->re, reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), 0, 0, md, code_->ctx);
  pcre2_match_data_free(md);
  return rc >= 0;
}

}  // namespace ts::rules
