#pragma once
// The common start of every client command: find PEER in the trusted peers,
// load our identity, connect to the peer's stored address and authenticate
// it against its pinned key.
#include "cli/context.hpp"

#include <ftsync/crypto/keys.hpp>
#include <ftsync/ops/remote.hpp>
#include <ftsync/session/trust.hpp>
#include <ftsync/transport/host.hpp>

#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

namespace ftsync::cli {

struct connected_peer {
  session::peer_entry peer;
  transport::endpoint endpoint;
  std::unique_ptr<crypto::identity> me;  // kept alive as long as the session
  std::unique_ptr<ops::remote> remote;
};

struct connect_outcome {
  std::optional<connected_peer> value;
  int exit = exit_code::ok;  // set (and already reported) when value is empty
};

// Loads the identity, or reports "no identity yet: run ftsync keygen" (exit 5).
struct identity_outcome {
  std::unique_ptr<crypto::identity> value;
  int exit = exit_code::ok;
};
identity_outcome load_identity(const context& ctx);

// Message for an unknown peer name: lists the known ones.
std::string unknown_peer_message(std::string_view name, const session::trust_store& store);

// `bwlimit_flag` is the command's --bwlimit (bytes/s), which wins over
// FTSYNC_BWLIMIT and the config's client.bwlimit.
connect_outcome connect_to_peer(const context& ctx, std::string_view peer_name,
                                std::optional<std::uint64_t> bwlimit_flag = std::nullopt);

}  // namespace ftsync::cli
