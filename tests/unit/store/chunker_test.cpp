// Content-defined chunking: sizes within bounds, deterministic, and
// boundaries after an insertion are the same as before it.
#include <ftsync/store/chunker.hpp>

#include <doctest/doctest.h>

#include <cstdint>
#include <set>
#include <vector>

using namespace ftsync;

namespace {

bytes random_bytes(std::size_t n, std::uint64_t seed) {
  bytes out(n);
  std::uint64_t x = seed;
  for (auto& b : out) {
    x += 0x9e3779b97f4a7c15ull;
    std::uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    b = static_cast<byte>(z ^ (z >> 31));
  }
  return out;
}

// Absolute offsets of every chunk end.
std::vector<std::size_t> cuts(const bytes& data) {
  std::vector<std::size_t> out;
  std::size_t pos = 0;
  while (pos < data.size()) {
    const std::size_t window = std::min(store::chunk_max, data.size() - pos);
    const std::size_t len = store::next_cut(byte_view(data.data() + pos, window));
    REQUIRE(len >= 1);
    REQUIRE(len <= window);
    pos += len;
    out.push_back(pos);
  }
  return out;
}

}  // namespace

TEST_CASE("chunk sizes stay within min and max and average near 64 KiB") {
  const bytes data = random_bytes(32 << 20, 1);
  const auto c = cuts(data);
  std::size_t prev = 0, forced = 0;
  for (std::size_t i = 0; i < c.size(); ++i) {
    const std::size_t len = c[i] - prev;
    if (i + 1 < c.size()) CHECK(len >= store::chunk_min);
    CHECK(len <= store::chunk_max);
    forced += len == store::chunk_max;
    prev = c[i];
  }
  const double avg = static_cast<double>(data.size()) / static_cast<double>(c.size());
  MESSAGE("chunks: " << c.size() << ", average " << avg << " bytes, forced cuts " << forced);
  CHECK(avg > 40 * 1024);
  CHECK(avg < 90 * 1024);
  // The header promises ~1.8% forced cuts; allow up to 5%.
  CHECK(static_cast<double>(forced) < 0.05 * static_cast<double>(c.size()));
}

TEST_CASE("chunking is deterministic and small inputs are one chunk") {
  const bytes data = random_bytes(4 << 20, 7);
  CHECK(cuts(data) == cuts(data));
  const bytes small = random_bytes(1000, 3);
  CHECK(store::next_cut(small) == 1000);
  CHECK(store::next_cut(byte_view{}) == 0);
}

TEST_CASE("boundaries are stable under an insertion in the middle") {
  const bytes base = random_bytes(16 << 20, 2);
  bytes edited = base;
  const std::size_t at = 8 << 20;
  const bytes ins = random_bytes(100, 99);
  edited.insert(edited.begin() + static_cast<std::ptrdiff_t>(at), ins.begin(), ins.end());
  const auto a = cuts(base);
  const auto b = cuts(edited);
  // Every boundary before the insertion is unchanged...
  std::set<std::size_t> sa(a.begin(), a.end());
  std::set<std::size_t> sb_shifted;
  for (auto x : b) sb_shifted.insert(x >= at + ins.size() ? x - ins.size() : x);
  std::size_t before_same = 0, before_total = 0, after_same = 0, after_total = 0;
  for (auto x : a) {
    if (x < at) {
      ++before_total;
      before_same += sb_shifted.count(x);
    } else {
      ++after_total;
      after_same += sb_shifted.count(x);
    }
  }
  CHECK(before_same == before_total);
  // ...and after it all but at most two boundaries re-synchronise.
  MESSAGE("after the insertion: " << after_same << " of " << after_total << " boundaries kept");
  CHECK(after_same + 2 >= after_total);
  // So chunks that differ (by their byte ranges) are few.
  std::size_t differing = 0;
  for (auto x : b) {
    const std::size_t orig = x >= at + ins.size() ? x - ins.size() : x;
    differing += sa.count(orig) == 0 || (x >= at && x < at + ins.size());
  }
  CHECK(differing <= 3);
}

TEST_CASE("boundaries are stable under a deletion and an overwrite") {
  const bytes base = random_bytes(8 << 20, 5);
  bytes edited = base;
  edited.erase(edited.begin() + (3 << 20), edited.begin() + (3 << 20) + 5000);
  const auto a = cuts(base);
  const auto b = cuts(edited);
  std::set<std::size_t> sb;
  for (auto x : b) sb.insert(x >= (3u << 20) ? x + 5000 : x);
  std::size_t kept = 0;
  for (auto x : a) kept += sb.count(x);
  CHECK(kept + 3 >= a.size());
}
