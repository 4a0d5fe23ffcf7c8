#pragma once
// The session handshake, as a state machine without I/O (the session layer
// moves its messages; the wire layer encodes them).
//
// Pattern (SIGMA-style, like Noise XX with signatures; research/security.md §1.3–1.5):
//   1. client -> server  hello        {version, e_c}                    fresh X25519 ephemeral
//   2. server -> client  hello_reply  {version, e_s, S, sig_S(th2)}     th2 = H(label || e_c || e_s || S)
//   3. client -> server  auth         AEAD_k(C || sig_C(th3))           th3 = H(th2 || C), k from DH(e_c,e_s), th2
// Both sides then derive two session keys (client->server, server->client)
// from DH(e_c,e_s) and th3. Each side proves its long-term key by signing a
// transcript that contains both fresh ephemerals, so a recorded handshake
// cannot be replayed (the server's e_s differs next time) and every session
// has new keys. The client compares S with the key it pinned for that peer;
// the server checks C against its trusted peers after on_auth returns.
// An all-zero DH result (low-order point) is refused with errc::bad_key.
#include <ftsync/crypto/keys.hpp>
#include <ftsync/util/result.hpp>

#include <cstdint>
#include <memory>

namespace ftsync::crypto {

// 2: file_record carries a symlink's target (folder sync of symlinks).
inline constexpr std::uint32_t protocol_version = 2;

struct hello {
  std::uint32_t version = protocol_version;
  key32 ephemeral{};
};

struct hello_reply {
  std::uint32_t version = protocol_version;
  key32 ephemeral{};
  public_key identity;
  signature sig{};
};

struct auth {
  bytes sealed;  // AEAD(C || sig_C(th3)), 32 + 64 + 16 bytes
};

struct session_keys {
  key32 send{};  // this side's sending key
  key32 receive{};
  key32 transcript{};  // th3: binds anything else to this session
};

class initiator {
 public:
  explicit initiator(const identity& me);
  ~initiator();
  hello start();
  // Verifies the server's signature; returns message 3. The caller must
  // still compare server_key() with the pinned key.
  result<auth> on_reply(const hello_reply& reply);
  const public_key& server_key() const noexcept;
  session_keys keys() const;  // valid after on_reply succeeded

 private:
  struct state;
  std::unique_ptr<state> m_state;
};

class responder {
 public:
  explicit responder(const identity& me);
  ~responder();
  result<hello_reply> on_hello(const hello& msg);
  // Opens and verifies message 3; returns the client's long-term key.
  result<public_key> on_auth(const auth& msg);
  session_keys keys() const;  // valid after on_auth succeeded

 private:
  struct state;
  std::unique_ptr<state> m_state;
};

}  // namespace ftsync::crypto
