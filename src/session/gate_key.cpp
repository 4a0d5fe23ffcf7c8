#include <ftsync/crypto/hash.hpp>
#include <ftsync/session/client.hpp>

#include <algorithm>
#include <string_view>

namespace ftsync::session {

transport::gate_key gate_key_for(const crypto::public_key& server) {
  // A distinct label keeps this key unrelated to any other use of the id.
  constexpr std::string_view label = "ftsync-gate-v1";
  crypto::hasher h;
  h.update(as_bytes(label));
  h.update(server.bytes);
  const auto d = h.finish();
  transport::gate_key key{};
  std::copy(d.begin(), d.end(), key.begin());
  return key;
}

}  // namespace ftsync::session
