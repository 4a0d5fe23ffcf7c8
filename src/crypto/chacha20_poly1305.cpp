#include "crypto/chacha20_poly1305.hpp"

#include <ftsync/crypto/channel.hpp>
#include <ftsync/util/assert.hpp>

#include <openssl/evp.h>

#include <algorithm>
#include <climits>

namespace ftsync::crypto::detail {

namespace {
constexpr int k_tag_bytes = static_cast<int>(aead_tag_bytes);
}  // namespace

struct chacha20_poly1305::context {
  EVP_CIPHER_CTX* evp = EVP_CIPHER_CTX_new();
  // EVP_CIPHER_CTX_free also wipes the key schedule.
  ~context() { EVP_CIPHER_CTX_free(evp); }
};

// Failures below are allocation failures or misuse inside libcrypto, never
// a consequence of the data: an abort with a message, like an assertion.
chacha20_poly1305::chacha20_poly1305(const key32& key, bool encrypt) : m_ctx(std::make_unique<context>()) {
  FTSYNC_ASSERT(m_ctx->evp != nullptr);
  FTSYNC_ASSERT(EVP_CipherInit_ex(m_ctx->evp, EVP_chacha20_poly1305(), nullptr, key.data(), nullptr,
                                  encrypt ? 1 : 0) == 1);
}

chacha20_poly1305::~chacha20_poly1305() = default;

void chacha20_poly1305::seal(const chacha_nonce& n, byte_view plain, byte* out) {
  // EVP lengths are int: frames are far below INT_MAX (limits::max_frame_bytes).
  FTSYNC_ASSERT(plain.size() <= static_cast<std::size_t>(INT_MAX));
  EVP_CIPHER_CTX* c = m_ctx->evp;
  int len = 0;
  FTSYNC_ASSERT(EVP_EncryptInit_ex(c, nullptr, nullptr, nullptr, n.data()) == 1);
  FTSYNC_ASSERT(EVP_EncryptUpdate(c, out, &len, plain.data(), static_cast<int>(plain.size())) == 1);
  int tail = 0;
  FTSYNC_ASSERT(EVP_EncryptFinal_ex(c, out + len, &tail) == 1);
  FTSYNC_ASSERT(EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_GET_TAG, k_tag_bytes, out + plain.size()) == 1);
}

bool chacha20_poly1305::open(const chacha_nonce& n, byte_view sealed, byte* out) {
  FTSYNC_ASSERT(sealed.size() >= k_tag_bytes && sealed.size() <= static_cast<std::size_t>(INT_MAX));
  EVP_CIPHER_CTX* c = m_ctx->evp;
  const auto body = static_cast<int>(sealed.size()) - k_tag_bytes;
  int len = 0;
  if (EVP_DecryptInit_ex(c, nullptr, nullptr, nullptr, n.data()) != 1) return false;
  // The tag is copied in: SET_TAG takes a non-const pointer.
  byte tag[k_tag_bytes];
  std::copy_n(sealed.data() + body, k_tag_bytes, tag);
  if (EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_AEAD_SET_TAG, k_tag_bytes, tag) != 1) return false;
  if (EVP_DecryptUpdate(c, out, &len, sealed.data(), body) != 1) return false;
  int tail = 0;
  return EVP_DecryptFinal_ex(c, out + len, &tail) == 1;
}

}  // namespace ftsync::crypto::detail
