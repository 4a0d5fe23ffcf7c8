#include <ftsync/util/errc.hpp>

#include <array>
#include <utility>

namespace ftsync {
namespace {

constexpr std::array<std::pair<errc, std::string_view>, 32> k_names{{
    {errc::ok, "ok"},
    {errc::invalid_argument, "invalid_argument"},
    {errc::bad_path, "bad_path"},
    {errc::path_escapes_root, "path_escapes_root"},
    {errc::reserved_name, "reserved_name"},
    {errc::not_found, "not_found"},
    {errc::already_exists, "already_exists"},
    {errc::not_a_directory, "not_a_directory"},
    {errc::is_a_directory, "is_a_directory"},
    {errc::not_empty, "not_empty"},
    {errc::not_regular_file, "not_regular_file"},
    {errc::permission_denied, "permission_denied"},
    {errc::unsafe_permissions, "unsafe_permissions"},
    {errc::no_space, "no_space"},
    {errc::io, "io"},
    {errc::malformed, "malformed"},
    {errc::too_large, "too_large"},
    {errc::too_deep, "too_deep"},
    {errc::unsupported, "unsupported"},
    {errc::unexpected_message, "unexpected_message"},
    {errc::auth_failed, "auth_failed"},
    {errc::untrusted_peer, "untrusted_peer"},
    {errc::peer_key_mismatch, "peer_key_mismatch"},
    {errc::bad_key, "bad_key"},
    {errc::replay, "replay"},
    {errc::hash_mismatch, "hash_mismatch"},
    {errc::timeout, "timeout"},
    {errc::connection_failed, "connection_failed"},
    {errc::disconnected, "disconnected"},
    {errc::busy, "busy"},
    {errc::cancelled, "cancelled"},
    {errc::internal, "internal"},
}};

}  // namespace

std::string_view errc_name(errc code) noexcept {
  for (const auto& [c, name] : k_names)
    if (c == code) return name;
  return "internal";
}

errc errc_from_name(std::string_view name) noexcept {
  for (const auto& [c, n] : k_names)
    if (n == name) return c;
  return errc::internal;
}

}  // namespace ftsync
