#pragma once
// Private to crypto/: the IETF ChaCha20-Poly1305 AEAD (RFC 8439, no
// associated data) through OpenSSL's libcrypto. The construction and its
// bytes are libsodium's crypto_aead_chacha20poly1305_ietf (a unit test
// compares the two); libcrypto's implementation uses AVX-512 where the CPU
// has it and seals 128 KiB frames about 3x faster than libsodium's on the
// benchmark machine (3,656-3,693 against 1,264-1,303 MB/s, one core,
// tests/bench/micro/aead_speed.cpp).
#include <ftsync/crypto/keys.hpp>

#include <array>
#include <memory>

namespace ftsync::crypto::detail {

inline constexpr std::size_t chacha_nonce_bytes = 12;
using chacha_nonce = std::array<byte, chacha_nonce_bytes>;

class chacha20_poly1305 {
 public:
  // Sets the key once; each call below sets only the nonce.
  chacha20_poly1305(const key32& key, bool encrypt);
  ~chacha20_poly1305();
  chacha20_poly1305(const chacha20_poly1305&) = delete;
  chacha20_poly1305& operator=(const chacha20_poly1305&) = delete;

  // out = ciphertext || 16-byte tag; out.size() must be plain.size() + 16.
  void seal(const chacha_nonce& n, byte_view plain, byte* out);
  // false when the tag does not match; `out` (sealed.size() - 16 bytes) is
  // then garbage and must be discarded.
  bool open(const chacha_nonce& n, byte_view sealed, byte* out);

 private:
  struct context;
  std::unique_ptr<context> m_ctx;
};

}  // namespace ftsync::crypto::detail
