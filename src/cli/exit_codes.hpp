#pragma once
// Process exit codes of `ftsync`. Scripts depend on them: never renumber,
// only add. The README's "Exit codes" table is written from this list.
#include <ftsync/util/result.hpp>

namespace ftsync::cli {

namespace exit_code {
inline constexpr int ok = 0;           // everything asked for was done
inline constexpr int internal = 1;     // a bug or an error that fits no other group
inline constexpr int usage = 2;        // bad flags or arguments (CLI11 parse errors too), a bad
                                       // PEER:PATH, an unknown peer name, a malformed config file
inline constexpr int connection = 3;   // could not reach or authenticate the peer: connection_failed,
                                       // timeout, disconnected, untrusted_peer, peer_key_mismatch,
                                       // auth_failed, bad_key, busy, replay (and any failure of the
                                       // handshake itself)
inline constexpr int remote = 4;       // the peer answered with an error (no such remote file,
                                       // read-only peer, remote disk full, ...)
inline constexpr int local_io = 5;     // a local file, directory, key or config problem: I/O error,
                                       // disk full, missing local file, unsafe permissions
inline constexpr int integrity = 6;    // data failed verification (hash_mismatch)
inline constexpr int interrupted = 130;  // SIGINT/SIGTERM during a client command (128 + SIGINT)
}  // namespace exit_code

// Where an error came from: the same errc can mean different things. A
// `not_found` while connecting is the peer's business, in a local path ours.
enum class phase {
  local,      // reading our own files, keys, config, arguments
  connect,    // connecting and the handshake: every failure is a connection failure
  operation,  // a request on an open session (remote errors carry error.remote)
};

int exit_code_for(const error& e, phase where) noexcept;

}  // namespace ftsync::cli
