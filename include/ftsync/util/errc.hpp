#pragma once
// Error codes shared by every module. Each enumerator documents when it is
// returned; the CLI maps groups of them onto exit codes (see cli/exit_codes).
#include <string_view>

namespace ftsync {

enum class errc : int {
  ok = 0,                 // not an error; never carried by a failed result
  invalid_argument,       // the caller (user or code) passed a malformed value
  bad_path,               // a path is not a valid confined relative path (.., NUL, too long, ...)
  path_escapes_root,      // resolving the path would leave the root (symlink, mount, ..)
  reserved_name,          // the path names ftsync's own temp/state files
  not_found,              // the file, directory, peer or transfer does not exist
  already_exists,         // the target exists and the operation must not replace it
  not_a_directory,        // a directory was required
  is_a_directory,         // a non-directory was required
  not_empty,              // rmdir of a directory that still has entries
  not_regular_file,       // device, FIFO, socket or symlink where a regular file was needed
  permission_denied,      // read-only peer attempted a write, or the OS said EACCES/EPERM
  unsafe_permissions,     // a key or trust file is readable/writable by others or is a symlink
  no_space,               // ENOSPC / EDQUOT while writing
  io,                     // any other local I/O failure (errno text in the message)
  malformed,              // a peer message failed to decode or validate
  too_large,              // a frame, field or count exceeds its limit
  too_deep,               // msgpack nesting deeper than allowed
  unsupported,            // unknown message type or protocol version
  unexpected_message,     // a valid message arrived in a state that does not allow it
  auth_failed,            // signature or AEAD verification failed
  untrusted_peer,         // the peer's key is not in the trusted peers list
  peer_key_mismatch,      // the server's key differs from the one pinned for that peer name
  bad_key,                // a key could not be parsed or is cryptographically invalid
  replay,                 // a handshake or frame was seen before
  hash_mismatch,          // a block or whole-file hash did not verify
  timeout,                // no answer within the allowed time (connect, handshake, idle)
  connection_failed,      // could not reach the peer (resolve, connect)
  disconnected,           // the connection ended before the operation finished
  busy,                   // the server refused a new session because it is at capacity
  cancelled,              // interrupted (SIGINT/SIGTERM)
  internal,               // a bug: an invariant did not hold
};

// Stable lower-case name used in logs and JSON output ("bad_path").
std::string_view errc_name(errc code) noexcept;

// Parses a name produced by errc_name; returns errc::internal when unknown.
errc errc_from_name(std::string_view name) noexcept;

}  // namespace ftsync
