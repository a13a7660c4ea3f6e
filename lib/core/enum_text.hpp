// Enum <-> text, one way for the whole project: the store's columns, the
// configuration, logs, JSON and CLIs all name enum values through this.
//
// An enum gets a text form by specialising ts::enum_text next to its
// definition, with every value once:
//
//   template <> struct enum_text<severity> {
//     static constexpr std::array<std::pair<severity, std::string_view>, 5> names{{
//         {severity::critical, "critical"}, ...}};
//   };
//
// and is then written with ts::to_text(v) and read with ts::from_text<E>(s).
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace ts {

/// Specialise with `static constexpr std::array<std::pair<E, std::string_view>, N> names`.
template <class E>
struct enum_text;

template <class E>
concept text_enum = std::is_enum_v<E> && requires {
  enum_text<E>::names;
};

/// The name of `v`; "?" for a value the table lacks (a programming error the
/// enum's table test catches).
template <text_enum E>
constexpr std::string_view to_text(E v) noexcept {
  for (const auto& [value, name] : enum_text<E>::names)
    if (value == v) return name;
  return "?";
}

/// The value named exactly `s`; nullopt for anything else.
template <text_enum E>
constexpr std::optional<E> from_text(std::string_view s) noexcept {
  for (const auto& [value, name] : enum_text<E>::names)
    if (name == s) return value;
  return std::nullopt;
}

/// Every name, in table order, joined by `separator` (for messages that list
/// what is allowed: "critical, high, medium, low, info").
template <text_enum E>
std::string text_choices(std::string_view separator = ", ") {
  std::string out;
  for (const auto& [value, name] : enum_text<E>::names) {
    if (!out.empty()) out += separator;
    out += name;
  }
  return out;
}

}  // namespace ts
