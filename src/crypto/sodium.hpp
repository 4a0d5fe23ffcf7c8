#pragma once
// Private helpers shared by the crypto sources; the only header besides the
// .cpp files that may include <sodium.h> (STYLE.md rule 2).
#include <sodium.h>

#include <cstdint>
#include <ftsync/util/bytes.hpp>
#include <string_view>

namespace ftsync::crypto::detail {

// sodium_init() once; false only when the library cannot initialise (no
// entropy source). Thread-safe: a function-local static.
bool sodium_ready() noexcept;

inline void put_le32(byte* out, std::uint32_t v) noexcept {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<byte>(v >> (8 * i));
}
inline void put_le64(byte* out, std::uint64_t v) noexcept {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<byte>(v >> (8 * i));
}

inline void hash_update(crypto_generichash_state& st, byte_view data) noexcept {
  crypto_generichash_update(&st, data.data(), data.size());
}
inline void hash_update(crypto_generichash_state& st, std::string_view label) noexcept {
  hash_update(st, as_bytes(label));
}

// Wipes a trivially copyable object (keys, states) with a write the
// compiler may not elide.
template <class T>
void wipe(T& obj) noexcept {
  sodium_memzero(&obj, sizeof(obj));
}

}  // namespace ftsync::crypto::detail
