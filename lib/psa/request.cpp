#include "psa/request.hpp"

#include "core/overloaded.hpp"

namespace ts::psa {

bool repeat_unsafe(const request& r) noexcept {
  return std::holds_alternative<req::create_ticket>(r) || std::holds_alternative<req::post_note>(r);
}

std::string describe(const request& r) {
  return std::visit(
      overloaded{
          [](const req::create_ticket&) -> std::string { return "POST /service/tickets"; },
          [](const req::find_ticket&) -> std::string { return "GET /service/tickets?externalXRef"; },
          [](const req::get_ticket&) -> std::string { return "GET /service/tickets/{id}"; },
          [](const req::patch_ticket&) -> std::string { return "PATCH /service/tickets/{id}"; },
          [](const req::post_note&) -> std::string { return "POST /service/tickets/{id}/notes"; },
          [](const req::list_notes&) -> std::string { return "GET /service/tickets/{id}/notes"; },
          [](const req::sweep_page&) -> std::string { return "GET /service/tickets?lastUpdated (sweep)"; },
          [](const req::tickets_by_id& t) -> std::string {
            return t.full ? "GET /service/tickets?id in (re-read)" : "GET /service/tickets?id in (exist)";
          },
          [](const req::list_names& l) -> std::string {
            switch (l.list) {
              case name_list::boards: return "GET /service/boards";
              case name_list::priorities: return "GET /service/priorities";
              case name_list::sources: return "GET /service/sources";
              case name_list::custom_fields: return "GET /service/tickets?fields=customFields";
              default: return "GET /service/boards/{id}/" + std::string(to_text(l.list));
            }
          },
      },
      r);
}

}  // namespace ts::psa
