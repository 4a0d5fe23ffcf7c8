#include "transport/checksum.hpp"

#include <doctest/doctest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

using ftsync::transport::detail::crc32c_portable;
using ftsync::transport::detail::datagram_checksum;

namespace {
std::uint32_t checksum_of(std::vector<std::vector<unsigned char>>& parts) {
  std::vector<ENetBuffer> bufs(parts.size());
  for (std::size_t i = 0; i < parts.size(); ++i) {
    bufs[i].data = parts[i].data();
    bufs[i].dataLength = parts[i].size();
  }
  return datagram_checksum(bufs.data(), bufs.size());
}
}  // namespace

TEST_CASE("datagram checksum is CRC-32C: the standard check value, split anywhere") {
  const std::string check = "123456789";
  CHECK(crc32c_portable(check.data(), check.size()) == 0xE3069283u);
  std::vector<std::vector<unsigned char>> one{{check.begin(), check.end()}};
  CHECK(checksum_of(one) == 0xE3069283u);
  std::vector<std::vector<unsigned char>> split{{'1', '2'}, {}, {'3', '4', '5', '6', '7'}, {'8', '9'}};
  CHECK(checksum_of(split) == 0xE3069283u);
  CHECK(crc32c_portable(nullptr, 0) == 0u);
}

TEST_CASE("datagram checksum: the CPU instruction path equals the portable one and catches any flipped bit") {
  std::mt19937_64 rng(7);
  for (std::size_t size : {1u, 7u, 8u, 9u, 63u, 1400u, 4096u}) {
    std::vector<std::vector<unsigned char>> d{std::vector<unsigned char>(size)};
    for (auto& b : d[0]) b = static_cast<unsigned char>(rng());
    const std::uint32_t sum = checksum_of(d);
    CHECK(sum == crc32c_portable(d[0].data(), size));
    for (int trial = 0; trial < 64; ++trial) {
      const std::size_t bit = rng() % (size * 8);
      d[0][bit / 8] ^= static_cast<unsigned char>(1u << (bit % 8));
      CHECK(checksum_of(d) != sum);
      d[0][bit / 8] ^= static_cast<unsigned char>(1u << (bit % 8));
    }
  }
}
