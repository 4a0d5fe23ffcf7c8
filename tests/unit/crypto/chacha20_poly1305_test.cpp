// libcrypto's ChaCha20-Poly1305 must produce libsodium's bytes exactly: the
// channel switched implementation without a protocol change, and a node
// built on either must open the other's frames.
#include "crypto/chacha20_poly1305.hpp"

#include <ftsync/crypto/keys.hpp>

#include <sodium.h>

#include <doctest/doctest.h>

#include <cstddef>
#include <vector>

using namespace ftsync;
using namespace ftsync::crypto;
using ftsync::crypto::detail::chacha20_poly1305;
using ftsync::crypto::detail::chacha_nonce;

namespace {

bytes sodium_seal(const key32& k, const chacha_nonce& n, byte_view plain) {
  bytes out(plain.size() + crypto_aead_chacha20poly1305_ietf_ABYTES);
  unsigned long long len = 0;
  crypto_aead_chacha20poly1305_ietf_encrypt(out.data(), &len, plain.data(), plain.size(), nullptr, 0, nullptr,
                                            n.data(), k.data());
  return out;
}

}  // namespace

TEST_CASE("chacha20_poly1305: same bytes as libsodium for every size, and libsodium opens them") {
  REQUIRE(sodium_init() >= 0);
  key32 key{};
  random_bytes(key);
  chacha20_poly1305 sealer(key, true);
  chacha20_poly1305 opener(key, false);
  const std::vector<std::size_t> sizes = {0, 1, 15, 16, 17, 63, 64, 65, 255, 256, 257, 4095, 4096, 65537, 131072 + 40};
  std::uint64_t counter = 0;
  for (const auto size : sizes) {
    CAPTURE(size);
    bytes plain(size);
    random_bytes(plain);
    chacha_nonce n{};
    random_bytes(n);
    n[11] = static_cast<byte>(counter++);  // a different nonce every time, on a reused context
    bytes mine(size + 16);
    sealer.seal(n, plain, mine.data());
    CHECK(mine == sodium_seal(key, n, plain));

    bytes opened(size);
    REQUIRE(opener.open(n, mine, opened.data()));
    CHECK(opened == plain);
    bytes by_sodium(size);
    unsigned long long len = 0;
    CHECK(crypto_aead_chacha20poly1305_ietf_decrypt(by_sodium.data(), &len, nullptr, mine.data(), mine.size(),
                                                    nullptr, 0, n.data(), key.data()) == 0);
    CHECK(by_sodium == plain);
  }
}

TEST_CASE("chacha20_poly1305: a flipped bit, another nonce or another key fails, and the context still works") {
  key32 key{};
  random_bytes(key);
  chacha20_poly1305 sealer(key, true);
  chacha20_poly1305 opener(key, false);
  bytes plain(1000);
  random_bytes(plain);
  chacha_nonce n{};
  bytes sealed(plain.size() + 16);
  sealer.seal(n, plain, sealed.data());
  bytes out(plain.size());

  for (const std::size_t at : {std::size_t{0}, std::size_t{999}, std::size_t{1000}, std::size_t{1015}}) {
    bytes bad = sealed;
    bad[at] ^= 0x01;
    CHECK_FALSE(opener.open(n, bad, out.data()));
  }
  chacha_nonce other = n;
  other[0] = 1;
  CHECK_FALSE(opener.open(other, sealed, out.data()));
  key32 wrong = key;
  wrong[31] ^= 0x80;
  chacha20_poly1305 stranger(wrong, false);
  CHECK_FALSE(stranger.open(n, sealed, out.data()));

  REQUIRE(opener.open(n, sealed, out.data()));  // failures leave no state behind
  CHECK(out == plain);
}
