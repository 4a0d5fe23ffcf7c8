#include <ftsync/crypto/handshake.hpp>
#include <ftsync/util/assert.hpp>

#include "crypto/sodium.hpp"

#include <cstring>

namespace ftsync::crypto {

namespace {

static_assert(crypto_scalarmult_BYTES == key_bytes && crypto_scalarmult_SCALARBYTES == key_bytes);
static_assert(crypto_aead_chacha20poly1305_ietf_KEYBYTES == key_bytes);

// Domain labels keep every hash in the handshake distinct from every other
// use of BLAKE2b in ftsync; "-v1" lets a later version change the pattern.
constexpr std::string_view k_th2_label = "ftsync-hs-v1";
constexpr std::string_view k_hs_key_label = "ftsync-hs-key";
constexpr std::string_view k_session_label = "ftsync-session-v1";

constexpr std::size_t k_auth_plain = key_bytes + signature_bytes;
constexpr std::size_t k_auth_sealed = k_auth_plain + crypto_aead_chacha20poly1305_ietf_ABYTES;

struct ephemeral {
  key32 secret{};
  key32 pub{};
};

result<ephemeral> make_ephemeral() {
  if (!detail::sodium_ready()) return make_error(errc::internal, "libsodium failed to initialise");
  ephemeral e;
  randombytes_buf(e.secret.data(), e.secret.size());
  if (crypto_scalarmult_base(e.pub.data(), e.secret.data()) != 0)
    return make_error(errc::internal, "X25519 base point multiplication failed");
  return e;
}

// X25519. libsodium returns -1 when the result is all zeros, i.e. the peer
// sent a low-order point (RFC 7748 §6.1 "check the all-zero value"); a
// contributory DH is what makes the session keys depend on our ephemeral.
status dh(key32& out, const key32& secret, const key32& peer_public) {
  if (crypto_scalarmult(out.data(), secret.data(), peer_public.data()) != 0) {
    detail::wipe(out);
    return make_error(errc::bad_key, "peer ephemeral key is a low-order point (all-zero DH result)");
  }
  return {};
}

key32 transcript2(const key32& e_c, const key32& e_s, const public_key& server) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, key_bytes);
  detail::hash_update(st, k_th2_label);
  detail::hash_update(st, byte_view(e_c));
  detail::hash_update(st, byte_view(e_s));
  detail::hash_update(st, byte_view(server.bytes));
  key32 out{};
  crypto_generichash_final(&st, out.data(), out.size());
  return out;
}

key32 transcript3(const key32& th2, const public_key& client) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, key_bytes);
  detail::hash_update(st, byte_view(th2));
  detail::hash_update(st, byte_view(client.bytes));
  key32 out{};
  crypto_generichash_final(&st, out.data(), out.size());
  return out;
}

// BLAKE2b keyed with the DH output over label || transcript: a KDF with the
// shared secret as key and the transcript as context.
void keyed_hash(byte* out, std::size_t out_len, const key32& dh_key, std::string_view label,
                const key32& transcript) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, dh_key.data(), dh_key.size(), out_len);
  detail::hash_update(st, label);
  detail::hash_update(st, byte_view(transcript));
  crypto_generichash_final(&st, out, out_len);
  detail::wipe(st);
}

// 64 bytes: first half client->server, second half server->client.
void session_keys_from(const key32& dh_key, const key32& th3, key32& c2s, key32& s2c) {
  byte okm[64];
  keyed_hash(okm, sizeof okm, dh_key, k_session_label, th3);
  std::memcpy(c2s.data(), okm, key_bytes);
  std::memcpy(s2c.data(), okm + key_bytes, key_bytes);
  sodium_memzero(okm, sizeof okm);
}

// The key of message 3 is used for exactly one encryption, so a fixed
// all-zero nonce never repeats under it.
constexpr std::array<byte, crypto_aead_chacha20poly1305_ietf_NPUBBYTES> k_zero_nonce{};

// Handed out by keys() before the handshake finished: random keys make any
// channel built from them fail authentication instead of running under a
// known (all-zero) key, and need no abort.
session_keys unusable_keys() {
  FTSYNC_ASSERT(detail::sodium_ready());
  session_keys k;
  randombytes_buf(k.send.data(), k.send.size());
  randombytes_buf(k.receive.data(), k.receive.size());
  return k;
}

error out_of_order(std::string_view what) {
  return make_error(errc::unexpected_message, "handshake: " + std::string(what));
}

error version_error(std::uint32_t got) {
  return make_error(errc::unsupported, "handshake: peer speaks protocol version " + std::to_string(got) +
                                           ", this node speaks " + std::to_string(protocol_version));
}

}  // namespace

// ---------------------------------------------------------------- initiator

struct initiator::state {
  enum class phase { fresh, started, done, failed };
  const identity* me = nullptr;
  phase at = phase::fresh;
  ephemeral e;
  public_key server;
  session_keys keys;
  ~state() {
    detail::wipe(e);
    detail::wipe(keys);
  }
};

initiator::initiator(const identity& me) : m_state(std::make_unique<state>()) { m_state->me = &me; }
initiator::~initiator() = default;

hello initiator::start() {
  // Repeated calls return the same hello: a second ephemeral would only
  // orphan the first.
  if (m_state->at == state::phase::fresh) {
    auto e = make_ephemeral();
    if (!e) {
      // No entropy: leave the handshake failed; on_reply then refuses.
      m_state->at = state::phase::failed;
      return hello{protocol_version, key32{}};
    }
    m_state->e = *e;
    detail::wipe(e->secret);
    m_state->at = state::phase::started;
  }
  return hello{protocol_version, m_state->e.pub};
}

result<auth> initiator::on_reply(const hello_reply& reply) {
  state& s = *m_state;
  if (s.at != state::phase::started) return out_of_order("server reply before our hello or after the end");
  s.at = state::phase::failed;  // until everything below succeeds
  if (reply.version != protocol_version) return version_error(reply.version);

  key32 shared{};
  FTSYNC_TRY(dh(shared, s.e.secret, reply.ephemeral));
  detail::wipe(s.e.secret);  // forward secrecy: only `shared` remains
  struct wipe_guard {
    key32& k;
    ~wipe_guard() { detail::wipe(k); }
  } shared_guard{shared};

  const key32 th2 = transcript2(s.e.pub, reply.ephemeral, reply.identity);
  if (!verify(reply.identity, byte_view(th2), reply.sig))
    return make_error(errc::auth_failed, "handshake: server signature does not verify");
  s.server = reply.identity;

  key32 k_hs{};
  wipe_guard k_hs_guard{k_hs};
  keyed_hash(k_hs.data(), k_hs.size(), shared, k_hs_key_label, th2);

  const public_key& me = s.me->key();
  const key32 th3 = transcript3(th2, me);
  const signature sig = s.me->sign(byte_view(th3));
  std::array<byte, k_auth_plain> plain{};
  std::memcpy(plain.data(), me.bytes.data(), key_bytes);
  std::memcpy(plain.data() + key_bytes, sig.data(), signature_bytes);
  auth msg;
  msg.sealed.resize(k_auth_sealed);
  unsigned long long sealed_len = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt(msg.sealed.data(), &sealed_len, plain.data(), plain.size(),
                                            nullptr, 0, nullptr, k_zero_nonce.data(), k_hs.data());
  FTSYNC_ASSERT(sealed_len == k_auth_sealed);

  session_keys_from(shared, th3, s.keys.send, s.keys.receive);
  s.keys.transcript = th3;
  s.at = state::phase::done;
  return msg;
}

const public_key& initiator::server_key() const noexcept { return m_state->server; }

session_keys initiator::keys() const {
  if (m_state->at != state::phase::done) return unusable_keys();
  return m_state->keys;
}

// ---------------------------------------------------------------- responder

struct responder::state {
  enum class phase { fresh, replied, done, failed };
  const identity* me = nullptr;
  phase at = phase::fresh;
  key32 shared{};
  key32 th2{};
  key32 k_hs{};
  session_keys keys;
  ~state() {
    detail::wipe(shared);
    detail::wipe(k_hs);
    detail::wipe(keys);
  }
};

responder::responder(const identity& me) : m_state(std::make_unique<state>()) { m_state->me = &me; }
responder::~responder() = default;

result<hello_reply> responder::on_hello(const hello& msg) {
  state& s = *m_state;
  if (s.at != state::phase::fresh) return out_of_order("second hello in one handshake");
  s.at = state::phase::failed;
  if (msg.version != protocol_version) return version_error(msg.version);

  auto e = make_ephemeral();
  if (!e) return std::move(e).err();
  const status agreed = dh(s.shared, e->secret, msg.ephemeral);
  detail::wipe(e->secret);
  FTSYNC_TRY(agreed);

  hello_reply reply;
  reply.version = protocol_version;
  reply.ephemeral = e->pub;
  reply.identity = s.me->key();
  s.th2 = transcript2(msg.ephemeral, reply.ephemeral, reply.identity);
  reply.sig = s.me->sign(byte_view(s.th2));
  keyed_hash(s.k_hs.data(), s.k_hs.size(), s.shared, k_hs_key_label, s.th2);
  s.at = state::phase::replied;
  return reply;
}

result<public_key> responder::on_auth(const auth& msg) {
  state& s = *m_state;
  if (s.at != state::phase::replied) return out_of_order("client auth before hello or after the end");
  s.at = state::phase::failed;
  if (msg.sealed.size() != k_auth_sealed)
    return make_error(errc::malformed, "handshake: auth message is " + std::to_string(msg.sealed.size()) +
                                           " bytes, expected " + std::to_string(k_auth_sealed));

  std::array<byte, k_auth_plain> plain{};
  unsigned long long plain_len = 0;
  const int opened = crypto_aead_chacha20poly1305_ietf_decrypt(plain.data(), &plain_len, nullptr,
                                                               msg.sealed.data(), msg.sealed.size(), nullptr,
                                                               0, k_zero_nonce.data(), s.k_hs.data());
  detail::wipe(s.k_hs);
  if (opened != 0 || plain_len != k_auth_plain)
    return make_error(errc::auth_failed,
                      "handshake: client auth message does not decrypt (replayed or forged)");

  public_key client;
  std::memcpy(client.bytes.data(), plain.data(), key_bytes);
  signature sig{};
  std::memcpy(sig.data(), plain.data() + key_bytes, signature_bytes);
  const key32 th3 = transcript3(s.th2, client);
  if (!verify(client, byte_view(th3), sig))
    return make_error(errc::auth_failed, "handshake: client signature does not verify");

  key32 c2s{};
  key32 s2c{};
  session_keys_from(s.shared, th3, c2s, s2c);
  detail::wipe(s.shared);
  s.keys.send = s2c;
  s.keys.receive = c2s;
  s.keys.transcript = th3;
  detail::wipe(c2s);
  detail::wipe(s2c);
  s.at = state::phase::done;
  return client;
}

session_keys responder::keys() const {
  if (m_state->at != state::phase::done) return unusable_keys();
  return m_state->keys;
}

}  // namespace ftsync::crypto
