#include "transport/checksum.hpp"

#include <array>
#include <cstring>

namespace ftsync::transport::detail {
namespace {

constexpr std::uint32_t k_castagnoli_reflected = 0x82F63B78u;

constexpr std::array<std::uint32_t, 256> make_table() {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) != 0 ? (c >> 1) ^ k_castagnoli_reflected : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr auto k_table = make_table();

std::uint32_t update_portable(std::uint32_t crc, const unsigned char* p, std::size_t n) {
  while (n-- > 0) crc = k_table[(crc ^ *p++) & 0xFFu] ^ (crc >> 8);
  return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) std::uint32_t update_sse42(std::uint32_t crc, const unsigned char* p,
                                                             std::size_t n) {
  std::uint64_t c = crc;
  for (; n >= 8; n -= 8, p += 8) {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
    c = __builtin_ia32_crc32di(c, v);
  }
  auto c32 = static_cast<std::uint32_t>(c);
  while (n-- > 0) c32 = __builtin_ia32_crc32qi(c32, *p++);
  return c32;
}
bool has_sse42() {
  static const bool yes = __builtin_cpu_supports("sse4.2");
  return yes;
}
#endif

std::uint32_t update(std::uint32_t crc, const unsigned char* p, std::size_t n) {
#if defined(__x86_64__)
  if (has_sse42()) return update_sse42(crc, p, n);
#endif
  return update_portable(crc, p, n);
}

}  // namespace

enet_uint32 ENET_CALLBACK datagram_checksum(const ENetBuffer* buffers, std::size_t count) {
  std::uint32_t crc = ~0u;
  for (std::size_t i = 0; i < count; ++i)
    crc = update(crc, static_cast<const unsigned char*>(buffers[i].data), buffers[i].dataLength);
  return ~crc;
}

std::uint32_t crc32c_portable(const void* data, std::size_t size) {
  return ~update_portable(~0u, static_cast<const unsigned char*>(data), size);
}

}  // namespace ftsync::transport::detail
