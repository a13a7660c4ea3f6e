#include "core/error.hpp"

namespace ts {
namespace {

class category final : public boost::system::error_category {
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
