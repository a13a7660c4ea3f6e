#include "core/error.hpp"

namespace ts {
namespace {

// error_category's destructor is protected and non-virtual by design; this
// class is final and never deleted through a base pointer.
class category final : public boost::system::error_category {  // NOLINT(cppcoreguidelines-virtual-class-destructor)
 public:
  const char* name() const noexcept override { return "ticketsync"; }
  std::string message(int ev) const override {
    switch (static_cast<errc>(ev)) {
      case errc::ok: return "ok";
      case errc::invalid_config: return "invalid configuration";
      case errc::psa_protocol: return "PSA protocol error";
      case errc::psa_not_found: return "not found in PSA";
    }
    return "unknown ticketsync error";
  }
};

}  // namespace

const boost::system::error_category& ts_category() noexcept {
  static const category c;
  return c;
}

}  // namespace ts
