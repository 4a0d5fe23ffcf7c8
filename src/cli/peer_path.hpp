#pragma once
// PEER:PATH arguments. PEER is a trusted peer's name (session::validate_peer_name:
// it can hold no ':'), so the first ':' separates the two. PATH is inside the
// peer's served root: "laptop:/a/b", "laptop:a/b" and "laptop:a//b/" are the
// same path, "laptop:" and "laptop:/" are the root (rel_path::from_user).
#include <ftsync/util/rel_path.hpp>
#include <ftsync/util/result.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace ftsync::cli {

struct peer_path {
  std::string peer;
  rel_path path;
  std::string display() const;  // "peer:/path", for messages
};

// errc::invalid_argument (no ':' or a bad peer name) or errc::bad_path.
result<peer_path> parse_peer_path(std::string_view arg);

// Parses every argument; all must name the same peer (errc::invalid_argument
// otherwise: one command talks to one peer over one session).
result<std::vector<peer_path>> parse_same_peer(const std::vector<std::string>& args);

}  // namespace ftsync::cli
