// The server side of the handshake fed arbitrary bytes (research/security.md
// B7 and "Fuzz targets"): input = one length byte, then a first frame of
// that length (the hello), then the rest (the auth). Invariants: nothing
// throws or aborts, and on_auth never accepts a client, because nobody can
// sign a fresh transcript without a private key the fuzzer does not have.
#include <ftsync/crypto/handshake.hpp>
#include <ftsync/wire/codec.hpp>

#include <cstdint>
#include <cstdlib>
#include <variant>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ftsync;
  if (size < 1) return 0;
  static const crypto::identity server = std::move(crypto::identity::generate().value());
  const std::size_t first = std::min<std::size_t>(data[0], size - 1);
  const byte_view hello_frame(data + 1, first);
  const byte_view auth_frame(data + 1 + first, size - 1 - first);

  crypto::responder responder(server);
  auto hello = wire::decode(hello_frame, wire::handshake_limits());
  if (!hello) return 0;
  const auto* h = std::get_if<wire::hello>(&*hello);
  if (!h) return 0;
  auto reply = responder.on_hello(crypto::hello{h->version, h->ephemeral});
  if (!reply) return 0;
  auto auth = wire::decode(auth_frame, wire::handshake_limits());
  if (!auth) return 0;
  const auto* a = std::get_if<wire::auth>(&*auth);
  if (!a) return 0;
  if (responder.on_auth(crypto::auth{a->sealed}).ok()) std::abort();
  return 0;
}
