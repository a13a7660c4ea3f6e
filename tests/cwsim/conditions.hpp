// The ConnectWise `conditions` query language as cwsim understands it: a
// recursive-descent parser that compiles a condition string against a resource's field
// schema (so unknown fields and ill-typed values are rejected up front, like CW's 400),
// and an evaluator over the resource's JSON rendering. Grammar (keywords
// case-insensitive):
//   expr       := and_expr { "or" and_expr }
//   and_expr   := primary { "and" primary }
//   primary    := "(" expr ")" | comparison
//   comparison := path op value | path ["not"] "in" "(" value { "," value } ")"
//   op         := = | != | < | <= | > | >= | ["not"] contains | ["not"] like
//   value      := "text" | 'text' | integer | decimal | true | false | null | [datetime]
// Strings have no escapes (CW documents none). String comparisons are case-insensitive
// (SQL Server's default collation), and a comparison with a missing/null field is false
// unless it tests for null, as in SQL.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace cwsim {

enum class value_kind { integer, string, boolean, datetime };

/// One queryable field: its condition name (e.g. "company/identifier") and where its
/// value sits in the resource's JSON rendering.
struct field_def {
  std::string name;
  std::vector<std::string> json_path;
  value_kind kind;
};
using field_schema = std::vector<field_def>;

/// Case-insensitive lookup by condition name; nullptr when unknown.
const field_def* find_field(const field_schema& schema, std::string_view name) noexcept;

/// The field's value in `object`; nullptr when absent or JSON null.
const nlohmann::json* field_value(const nlohmann::json& object, const field_def& field) noexcept;

/// Three-way comparison of two field values of `kind` for orderBy; null sorts first.
int compare_field_values(const nlohmann::json* a, const nlohmann::json* b, value_kind kind) noexcept;

/// A syntax or schema error; the message names the problem and its character offset.
class condition_error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A compiled condition. Copyable and immutable; independent of the schema it was
/// compiled from.
class condition {
 public:
  /// Compiles `text`; blank text yields a condition that matches everything.
  /// Throws condition_error.
  static condition parse(std::string_view text, const field_schema& schema);

  bool matches(const nlohmann::json& object) const;

  struct node;

 private:
  std::shared_ptr<const node> root_;
};

}  // namespace cwsim
