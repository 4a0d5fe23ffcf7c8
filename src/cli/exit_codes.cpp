#include "cli/exit_codes.hpp"

namespace ftsync::cli {
namespace {

bool is_connection_error(errc c) noexcept {
  switch (c) {
    case errc::connection_failed:
    case errc::timeout:
    case errc::disconnected:
    case errc::untrusted_peer:
    case errc::peer_key_mismatch:
    case errc::auth_failed:
    case errc::bad_key:
    case errc::busy:
    case errc::replay:
      return true;
    default:
      return false;
  }
}

}  // namespace

int exit_code_for(const error& e, phase where) noexcept {
  const errc c = e.code;
  if (c == errc::cancelled) return exit_code::interrupted;
  if (is_connection_error(c)) return exit_code::connection;
  if (where == phase::connect) {
    // Our own files (identity, trust) are read before connecting, so what
    // fails here is the peer or the path to it; a refusal such as
    // permission_denied or unsupported version is part of the handshake.
    if (c == errc::internal) return exit_code::internal;
    if (c == errc::invalid_argument || c == errc::bad_path) return exit_code::usage;
    return exit_code::connection;
  }
  if (c == errc::hash_mismatch) return exit_code::integrity;
  if (e.remote) return exit_code::remote;
  switch (c) {
    case errc::invalid_argument:
    case errc::bad_path:
    case errc::reserved_name:
      return exit_code::usage;
    case errc::path_escapes_root:
    case errc::not_found:
    case errc::already_exists:
    case errc::not_a_directory:
    case errc::is_a_directory:
    case errc::not_empty:
    case errc::not_regular_file:
    case errc::permission_denied:
    case errc::unsafe_permissions:
    case errc::no_space:
    case errc::io:
      return exit_code::local_io;
    case errc::malformed:
    case errc::too_large:
    case errc::too_deep:
    case errc::unsupported:
    case errc::unexpected_message:
      // Mid-session the peer broke the protocol and the session is gone;
      // locally it is one of our files (trust list) that does not parse.
      return where == phase::operation ? exit_code::connection : exit_code::local_io;
    default:
      return exit_code::internal;
  }
}

}  // namespace ftsync::cli
