#pragma once
/// @file
/// One name table per enum, shared by model files and the command line (docs/architecture.md).
///
/// An enum joins by declaring, in its own namespace (or as a friend of its class), a function found by
/// argument-dependent lookup that returns the names of its values 0, 1, 2, ... in order:
///
///     enum class PPCASolver { closed_form, em };
///     constexpr std::array<std::string_view, 2> enum_names(PPCASolver) { return {"closed_form", "em"}; }
///
/// Then enum_name(), enum_from_name() and enum_choices() work for it, io::OptionsWriter::add() and
/// io::OptionsReader::choice() store it by name, and the `pml` tool parses the same names.

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <concepts>
#include <type_traits>

namespace pml {

/// An enum with a name table (see the file's description).
template <class E>
concept NamedEnum = std::is_enum_v<E> && requires(E e) {
  { enum_names(e)[0] } -> std::convertible_to<std::string_view>;
  { enum_names(e).size() } -> std::convertible_to<std::size_t>;
};

/// The name of `value` ("?" for a value outside the table).
template <NamedEnum E> constexpr std::string_view enum_name(E value) {
  const auto names = enum_names(E{});
  const auto i = static_cast<std::size_t>(value);
  return i < names.size() ? names[i] : std::string_view("?");
}

/// The value named `name`, or nothing if no value has that name (exact, case-sensitive match).
template <NamedEnum E> constexpr std::optional<E> enum_from_name(std::string_view name) {
  const auto names = enum_names(E{});
  for (std::size_t i = 0; i < names.size(); ++i)
    if (names[i] == name) return static_cast<E>(i);
  return std::nullopt;
}

/// The names for messages and help: "full, tied, diagonal or spherical".
template <NamedEnum E> std::string enum_choices() {
  const auto names = enum_names(E{});
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? " or " : ", ";
    out += names[i];
  }
  return out;
}

}  // namespace pml
