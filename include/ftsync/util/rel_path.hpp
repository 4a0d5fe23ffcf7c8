#pragma once
// rel_path: a path relative to a served or synced root that has already been
// validated. Modules below the CLI accept only rel_path, never a raw string,
// so a path is checked once at the edge and then carried as a strong type
// (STYLE.md rule 7; Syncthing's fs.Canonicalize before every call).
//
// A valid rel_path is empty (the root itself) or '/'-separated components where
// each component
//   - is 1..255 bytes (NAME_MAX on Linux),
//   - is not "." or "..",
//   - holds no NUL, no '/', no '\\' (refused for cross-platform safety) and no
//     control character below 0x20 or 0x7f (they corrupt logs and terminals),
//   - is valid UTF-8 (names travel in msgpack str fields and JSON output).
// The whole path is at most 4096 bytes (PATH_MAX). Components starting with
// ".ftsync" are reserved for ftsync's own temp and state files and refused
// by parse(); from_internal() lets the store name them.
#include <ftsync/util/result.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace ftsync {

class rel_path {
 public:
  rel_path() = default;  // the root

  // Strict form, for peer input: no leading or trailing '/', no empty components.
  static result<rel_path> parse(std::string_view text);
  // Lenient form, for what a user typed after "PEER:": leading and repeated '/'
  // and "." components are dropped, a trailing '/' is ignored; ".." is still refused.
  static result<rel_path> from_user(std::string_view text);

  bool is_root() const noexcept { return m_text.empty(); }
  const std::string& str() const noexcept { return m_text; }
  std::vector<std::string_view> components() const;
  // The last component, or "" for the root.
  std::string_view name() const noexcept;
  // Everything but the last component; the root's parent is the root.
  rel_path parent() const;
  // Appends one validated component (the caller passes a single name).
  result<rel_path> join(std::string_view component) const;
  // Appends another relative path.
  rel_path join(const rel_path& tail) const;
  // True when this path equals `prefix` or lies beneath it.
  bool starts_with(const rel_path& prefix) const noexcept;

  friend bool operator==(const rel_path&, const rel_path&) = default;
  friend auto operator<=>(const rel_path&, const rel_path&) = default;

 private:
  explicit rel_path(std::string text) : m_text(std::move(text)) {}
  std::string m_text;
};

// Validates one path component with the rules above (reserved names refused).
status validate_component(std::string_view component);

// True for names ftsync keeps for itself (".ftsync" prefix).
bool is_reserved_name(std::string_view component) noexcept;

}  // namespace ftsync
