// The PSA client seam: the sync engine performs its requests (psa/request.hpp)
// through this interface. Abstract so the engine runs in-process against an
// in-memory fake ConnectWise in tests; cw_client is the real implementation.
#pragma once

#include "psa/failure.hpp"
#include "psa/request.hpp"

#include <boost/asio/awaitable.hpp>

namespace ts::psa {

class client {
 public:
  virtual ~client() = default;

  /// Finds the API (codebase discovery) and checks the credentials. Safe to
  /// call again; a failure says why (auth: the keys or the role; transport:
  /// unreachable).
  virtual boost::asio::awaitable<psa_result<void>> connect() = 0;
  /// Whether connect() succeeded (and nothing has undone it since).
  virtual bool connected() const noexcept = 0;
  /// Performs `r`. Never throws for PSA or network conditions: a failure says
  /// what happened and whether the request may have been applied. Does not
  /// wait for a rate budget; the caller paces requests.
  virtual boost::asio::awaitable<answer> perform(request r) = 0;
};

}  // namespace ts::psa
