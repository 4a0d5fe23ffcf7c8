#pragma once
// AEAD framing of post-handshake messages: ChaCha20-Poly1305 (IETF, RFC 8439)
// with an implicit 96-bit nonce = le32(stream) || le64(counter). The counter is not
// sent: the opener expects exactly the next one, so a replayed, dropped,
// reordered or reflected frame fails authentication (security.md B4, B8).
// Each (direction, stream) pair gets its own subkey via crypto_kdf, so
// several ENet connections of one session (striping) never share a nonce
// space. A counter that would wrap ends the channel (errc::internal) rather
// than repeat a nonce.
#include <ftsync/crypto/keys.hpp>
#include <ftsync/util/result.hpp>

#include <cstdint>
#include <memory>

namespace ftsync::crypto {

namespace detail {
class chacha20_poly1305;
}

inline constexpr std::size_t aead_tag_bytes = 16;

class sealer {
 public:
  sealer(const key32& session_key, std::uint32_t stream);
  ~sealer();
  sealer(sealer&&) noexcept;
  sealer& operator=(sealer&&) noexcept;
  // Returns ciphertext || tag (plaintext.size() + 16 bytes).
  result<bytes> seal(byte_view plaintext);
  // Seals in place into `out` (resized); avoids an allocation per frame.
  status seal_into(byte_view plaintext, bytes& out);

 private:
  std::unique_ptr<detail::chacha20_poly1305> m_aead;  // holds the stream's subkey
  std::uint32_t m_stream = 0;
  std::uint64_t m_counter = 0;
};

class opener {
 public:
  opener(const key32& session_key, std::uint32_t stream);
  ~opener();
  opener(opener&&) noexcept;
  opener& operator=(opener&&) noexcept;
  // errc::auth_failed on any tampering, replay, reorder or wrong key; the
  // counter advances only on success.
  result<bytes> open(byte_view sealed);

 private:
  std::unique_ptr<detail::chacha20_poly1305> m_aead;  // holds the stream's subkey
  std::uint32_t m_stream = 0;
  std::uint64_t m_counter = 0;
};

}  // namespace ftsync::crypto
