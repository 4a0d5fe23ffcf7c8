#pragma once
// Byte buffers: `bytes` owns, `byte_view` borrows (input parameters).
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ftsync {

using byte = std::uint8_t;
using bytes = std::vector<byte>;
using byte_view = std::span<const byte>;

inline byte_view as_bytes(std::string_view s) noexcept {
  return {reinterpret_cast<const byte*>(s.data()), s.size()};
}
inline std::string_view as_chars(byte_view b) noexcept {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// Lower-case hex, two characters per byte.
std::string to_hex(byte_view data);

}  // namespace ftsync
