// The ConnectWise PSA client: the CW dialect (codebase discovery, Basic auth,
// clientId, pinned Accept version, typed CW errors) over https_client, with a
// client-side request budget (token bucket) and a connection-wide pause when
// ConnectWise answers 429 with Retry-After.
//
// Every call classifies its outcome into a psa_failure the driver can act on
// without knowing HTTP: retry later, give up, or stop sending until fixed.
#pragma once

#include "config/config.hpp"
#include "core/clock.hpp"
#include "psa/client.hpp"
#include "psa/cw_callbacks.hpp"
#include "psa/cw_codec.hpp"
#include "psa/failure.hpp"
#include "psa/https_client.hpp"

#include <spdlog/logger.h>
#include <boost/asio/awaitable.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace ts::psa {

/// One request as the metrics see it.
struct call_record {
  std::string_view method;
  std::string endpoint;                  ///< endpoint_label() of the target
  int status = 0;                        ///< HTTP status; 0 when no answer came
  std::chrono::duration<double> took{};  ///< send to answer (or failure)
};

class cw_client final : public client {
 public:
  /// `private_key` is kept in memory only to build the Authorization header.
  cw_client(boost::asio::any_io_executor ex, const config::psa_config& cfg, const std::string& private_key,
            spdlog::logger& log, const ts::clock& clk);

  /// Resolves the codebase (configured, or GET /login/companyinfo/{companyId})
  /// and checks credentials with GET /system/info. Safe to call again.
  boost::asio::awaitable<psa_result<void>> connect() override;
  bool connected() const noexcept override { return !prefix_.empty(); }
  /// Dispatches to the typed calls below.
  boost::asio::awaitable<answer> perform(request r) override;

  boost::asio::awaitable<psa_result<ticket_info>> create_ticket(const ticket_create& t);
  /// The ticket whose externalXRef is `xref`, if any (the lowest id when several).
  boost::asio::awaitable<psa_result<std::optional<ticket_info>>> find_ticket_by_xref(std::string_view xref);
  boost::asio::awaitable<psa_result<ticket_info>> get_ticket(std::int64_t id);
  /// One page of the polling sweep (cw_sweep.hpp), with the server's Date.
  boost::asio::awaitable<psa_result<sweep_reply>> sweep_page(const req::sweep_page& p);
  /// Which of `ids` exist (ids only), or their sweep fields with `full`.
  boost::asio::awaitable<psa_result<std::vector<ticket_info>>> tickets_by_id(const req::tickets_by_id& r);
  /// PATCH with replace operations; the answer is the updated ticket.
  boost::asio::awaitable<psa_result<ticket_info>> patch_ticket(std::int64_t id, const std::vector<patch_op>& ops);
  boost::asio::awaitable<psa_result<note_info>> post_note(std::int64_t ticket_id, std::string_view text,
                                                          note_area area);
  /// The ticket's newest notes (up to 100), newest first.
  boost::asio::awaitable<psa_result<std::vector<note_info>>> recent_notes(std::int64_t ticket_id);

  /// GET /service/boards (all pages).
  boost::asio::awaitable<psa_result<std::vector<named_ref>>> boards();
  /// GET /service/boards/{id}/statuses: closed_status and default_flag set.
  boost::asio::awaitable<psa_result<std::vector<named_ref>>> board_statuses(std::int64_t board_id);
  /// GET /service/boards/{id}/types.
  boost::asio::awaitable<psa_result<std::vector<named_ref>>> board_types(std::int64_t board_id);
  /// GET /service/boards/{id}/subtypes: type_ids holds each subtype's typeAssociationIds.
  boost::asio::awaitable<psa_result<std::vector<named_ref>>> board_subtypes(std::int64_t board_id);
  /// GET /service/boards/{id}/items.
  boost::asio::awaitable<psa_result<std::vector<named_ref>>> board_items(std::int64_t board_id);
  /// GET /service/boards/{id}/teams.
  boost::asio::awaitable<psa_result<std::vector<named_ref>>> board_teams(std::int64_t board_id);
  /// GET /service/priorities.
  boost::asio::awaitable<psa_result<std::vector<named_ref>>> priorities();
  /// GET /service/sources (ticket sources).
  boost::asio::awaitable<psa_result<std::vector<named_ref>>> sources();
  /// The company whose identifier is `identifier` (compared case-insensitively,
  /// like CW; the lowest id when several), name = the identifier as CW spells
  /// it; nullopt when there is none. An identifier holding both quote kinds
  /// cannot be searched for: a `rejected` failure.
  boost::asio::awaitable<psa_result<std::optional<named_ref>>> find_company(std::string identifier);
  /// The ticket custom field definitions (name = caption), read from
  /// GET /service/tickets?pageSize=1&fields=id,customFields: ConnectWise lists
  /// every defined ticket custom field in each ticket's customFields array
  /// (not stated in the reference sources). So with no ticket at all (a new
  /// site) the list is empty, whatever is defined.
  boost::asio::awaitable<psa_result<std::vector<named_ref>>> custom_fields();

  /// GET /system/callbacks, every page (1,000 a page, by id): all entries,
  /// ticketsync's and others'. More than 10,000 is a protocol failure.
  boost::asio::awaitable<psa_result<std::vector<callback_entry>>> list_callbacks();
  /// POST /system/callbacks (encode_callback_entry); the entry as stored, with its id.
  boost::asio::awaitable<psa_result<callback_entry>> add_callback(const callback_entry& e);
  /// DELETE /system/callbacks/{id}. A 404 (already gone) counts as done.
  boost::asio::awaitable<psa_result<void>> delete_callback(std::int64_t id);

  /// Checks one security-role right with a harmless request (never creates or
  /// changes anything), through the same budget and auth as every call:
  /// company_inquire GET /company/companies?pageSize=1&fields=id;
  /// tickets_inquire GET /service/tickets?pageSize=1&fields=id;
  /// tickets_add POST /service/tickets `{}` (a validation error, nothing created);
  /// table_setup_inquire GET /service/boards?pageSize=1&fields=id;
  /// tickets_edit PATCH `[]` and tickets_close PATCH status to `closed_status_id`,
  /// both on probe_ticket_id after GET has shown it does not exist (404; if it
  /// exists, or that cannot be checked, there is no verdict). A role without
  /// Service Tickets: Edit also fails the close probe.
  /// Judged by judge_probe; transport failures give probed=false with the
  /// failure text. Connects first when not connected.
  boost::asio::awaitable<permission_check> probe(permission p, std::int64_t closed_status_id);

  /// A reload: the deadlines and response size limit of `cfg` apply to the
  /// requests that start from now on (site, keys and codebase stay).
  void reconfigure(const config::psa_config& cfg);

  /// Requests sent so far (including ones that failed).
  std::uint64_t requests_sent() const noexcept { return requests_; }

  /// Called after every request (metrics).
  void on_call(std::function<void(const call_record&)> f) { observer_ = std::move(f); }

 private:
  boost::asio::awaitable<psa_result<http_response>> call(boost::beast::http::verb method, std::string target,
                                                         std::string body, bool idempotent);
  boost::asio::awaitable<psa_result<std::vector<named_ref>>> list(std::string path);

  const config::psa_config& cfg_;
  spdlog::logger& log_;
  const ts::clock& clock_;
  endpoint endpoint_;
  https_client http_;
  std::string auth_;  // the Authorization value; never logged
  std::string accept_;
  std::string prefix_;  // "/v2025_1/apis/3.0" once connected
  std::uint64_t requests_ = 0;
  std::function<void(const call_record&)> observer_;
};

}  // namespace ts::psa
