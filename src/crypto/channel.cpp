#include <ftsync/crypto/channel.hpp>
#include <ftsync/util/assert.hpp>

#include "crypto/chacha20_poly1305.hpp"
#include "crypto/sodium.hpp"

#include <limits>

namespace ftsync::crypto {

using detail::chacha_nonce;
using detail::chacha_nonce_bytes;

namespace {

static_assert(aead_tag_bytes == crypto_aead_chacha20poly1305_ietf_ABYTES);
static_assert(crypto_kdf_KEYBYTES == key_bytes && crypto_kdf_CONTEXTBYTES == 8);

// crypto_kdf context: exactly 8 characters, fixed for this use.
constexpr char k_kdf_context[crypto_kdf_CONTEXTBYTES + 1] = "ftsyncch";
// The last counter value is never used, so "counter == max" means exhausted
// without a separate flag. 2^64 - 1 frames is unreachable in practice; the
// check exists so a nonce can never repeat even in theory.
constexpr std::uint64_t k_counter_limit = std::numeric_limits<std::uint64_t>::max();

using nonce = chacha_nonce;
static_assert(chacha_nonce_bytes == crypto_aead_chacha20poly1305_ietf_NPUBBYTES);
static_assert(sizeof(nonce) == 4 + 8);

// 96-bit IETF nonce = le32(stream) || le64(counter). The subkey already
// differs per stream; the stream in the nonce is a second, independent
// separation should two streams ever be given the same subkey.
nonce make_nonce(std::uint32_t stream, std::uint64_t counter) noexcept {
  nonce n{};
  detail::put_le32(n.data(), stream);
  detail::put_le64(n.data() + 4, counter);
  return n;
}

std::unique_ptr<detail::chacha20_poly1305> make_aead(const key32& session_key, std::uint32_t stream, bool encrypt) {
  FTSYNC_ASSERT(detail::sodium_ready());
  key32 sub{};
  crypto_kdf_derive_from_key(sub.data(), sub.size(), stream, k_kdf_context, session_key.data());
  auto aead = std::make_unique<detail::chacha20_poly1305>(sub, encrypt);
  detail::wipe(sub);
  return aead;
}

}  // namespace

sealer::sealer(const key32& session_key, std::uint32_t stream)
    : m_aead(make_aead(session_key, stream, true)), m_stream(stream) {}

sealer::~sealer() = default;
sealer::sealer(sealer&&) noexcept = default;
sealer& sealer::operator=(sealer&&) noexcept = default;

result<bytes> sealer::seal(byte_view plaintext) {
  bytes out;
  FTSYNC_TRY(seal_into(plaintext, out));
  return out;
}

status sealer::seal_into(byte_view plaintext, bytes& out) {
  if (m_counter == k_counter_limit)
    return make_error(errc::internal, "channel nonce counter exhausted: the session must be rekeyed");
  if (plaintext.size() > crypto_aead_chacha20poly1305_ietf_MESSAGEBYTES_MAX)
    return make_error(errc::too_large, "frame too large for ChaCha20-Poly1305");
  const nonce n = make_nonce(m_stream, m_counter);
  out.resize(plaintext.size() + aead_tag_bytes);
  m_aead->seal(n, plaintext, out.data());
  ++m_counter;
  return {};
}

opener::opener(const key32& session_key, std::uint32_t stream)
    : m_aead(make_aead(session_key, stream, false)), m_stream(stream) {}

opener::~opener() = default;
opener::opener(opener&&) noexcept = default;
opener& opener::operator=(opener&&) noexcept = default;

result<bytes> opener::open(byte_view sealed) {
  if (m_counter == k_counter_limit)
    return make_error(errc::internal, "channel nonce counter exhausted: the session must be rekeyed");
  if (sealed.size() < aead_tag_bytes)
    return make_error(errc::auth_failed, "sealed frame shorter than its authentication tag");
  const nonce n = make_nonce(m_stream, m_counter);
  bytes out(sealed.size() - aead_tag_bytes);
  if (!m_aead->open(n, sealed, out.data()))
    return make_error(errc::auth_failed,
                      "frame failed authentication (tampered, replayed, reordered or "
                      "dropped frame, or wrong key)");
  // Only now: a forged or replayed frame must not move the expected
  // counter, or one bad datagram would desynchronise the channel for good.
  ++m_counter;
  return out;
}

}  // namespace ftsync::crypto
