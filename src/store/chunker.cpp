// FastCDC cut-point search (see chunker.hpp for the sizes and the reasons).
#include <ftsync/store/chunker.hpp>

#include <array>

namespace ftsync::store {
namespace {

// 256 pseudo-random 64-bit values from splitmix64 seeded with a fixed
// constant: reproducible anywhere, no table to copy from another project.
constexpr std::array<std::uint64_t, 256> make_gear() {
  std::array<std::uint64_t, 256> t{};
  std::uint64_t x = 0x66747379'6e636463ull;  // "ftsyncdc"
  for (auto& v : t) {
    x += 0x9e3779b97f4a7c15ull;
    std::uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    v = z ^ (z >> 31);
  }
  return t;
}
constexpr auto k_gear = make_gear();

// Normalized chunking level 2: 16 + 2 bits below the average size (cuts
// less likely), 16 - 2 bits above it (more likely), so sizes cluster around
// 64 KiB. The top bits are used because with h = (h << 1) + gear[b] bit k
// depends on the last k + 1 bytes: the top bits see a 64-byte window.
constexpr std::uint64_t top_bits(int n) { return ~std::uint64_t{0} << (64 - n); }
constexpr std::uint64_t k_mask_small = top_bits(18);
constexpr std::uint64_t k_mask_large = top_bits(14);

}  // namespace

std::size_t next_cut(byte_view data) noexcept {
  std::size_t n = data.size();
  if (n <= chunk_min) return n;
  if (n > chunk_max) n = chunk_max;
  const std::size_t normal = n < chunk_avg ? n : chunk_avg;
  std::uint64_t h = 0;
  std::size_t i = chunk_min;
  for (; i < normal; ++i) {
    h = (h << 1) + k_gear[data[i]];
    if ((h & k_mask_small) == 0) return i + 1;
  }
  for (; i < n; ++i) {
    h = (h << 1) + k_gear[data[i]];
    if ((h & k_mask_large) == 0) return i + 1;
  }
  return n;
}

}  // namespace ftsync::store
