// Seals 1 GiB in 128 KiB frames with libsodium's and with libcrypto's
// IETF ChaCha20-Poly1305 and checks that both give the same bytes.
// Build and run: g++ -O2 -o /tmp/aead_speed aead_speed.cpp -lsodium -lcrypto && /tmp/aead_speed
#include <openssl/evp.h>
#include <sodium.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main() {
  if (sodium_init() < 0) return 1;
  constexpr std::size_t frame = 131072 + 40;  // a put_block with its msgpack header
  constexpr int frames = 8192;                // 1 GiB
  std::vector<unsigned char> plain(frame, 7), by_sodium(frame + 16), by_libcrypto(frame + 16);
  unsigned char key[32] = {1};
  unsigned char nonce[12] = {0};

  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < frames; ++i) {
    nonce[4] = static_cast<unsigned char>(i);
    unsigned long long len = 0;
    crypto_aead_chacha20poly1305_ietf_encrypt(by_sodium.data(), &len, plain.data(), frame, nullptr, 0, nullptr, nonce,
                                              key);
  }
  const double sodium_s = seconds_since(t0);

  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  EVP_EncryptInit_ex(ctx, EVP_chacha20_poly1305(), nullptr, key, nullptr);
  t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < frames; ++i) {
    nonce[4] = static_cast<unsigned char>(i);
    int len = 0, tail = 0;
    EVP_EncryptInit_ex(ctx, nullptr, nullptr, nullptr, nonce);
    EVP_EncryptUpdate(ctx, by_libcrypto.data(), &len, plain.data(), static_cast<int>(frame));
    EVP_EncryptFinal_ex(ctx, by_libcrypto.data() + len, &tail);
    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, by_libcrypto.data() + frame);
  }
  const double libcrypto_s = seconds_since(t0);
  EVP_CIPHER_CTX_free(ctx);

  const double mb = static_cast<double>(frames) * frame / 1e6;
  std::printf("same bytes: %s\nlibsodium %.0f MB/s, libcrypto %.0f MB/s (%.2fx)\n",
              std::memcmp(by_sodium.data(), by_libcrypto.data(), frame + 16) == 0 ? "yes" : "NO", mb / sodium_s,
              mb / libcrypto_s, sodium_s / libcrypto_s);
  return 0;
}
