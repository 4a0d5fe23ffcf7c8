#include "transport/gate.hpp"

#include <doctest/doctest.h>

#include <chrono>

using namespace ftsync::transport::detail;
using ftsync::transport::gate_key;
using ftsync::mono_time;
using namespace std::chrono_literals;

namespace {
gate_key key_of(std::uint8_t seed) {
  gate_key k{};
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>(seed + 7 * i);
  return k;
}
constexpr std::int64_t k_now = 1'760'000'000;  // a 2025 timestamp
}  // namespace

TEST_CASE("knock: layout, fresh nonce, verifies only with the right key and a fresh timestamp") {
  auto key = key_of(1);
  auto k = make_knock(key, k_now);
  CHECK(k.size() == 44);
  CHECK(k[0] == 'F');
  CHECK(k[3] == '1');
  CHECK(k[4] == static_cast<std::uint8_t>(k_now & 0xFF));  // little-endian time
  CHECK(looks_like_knock(k));
  CHECK(verify_knock(key, k, k_now));
  CHECK(make_knock(key, k_now) != k);  // random nonce

  CHECK_FALSE(verify_knock(key_of(2), k, k_now));
  CHECK(verify_knock(key, k, k_now + 120));
  CHECK(verify_knock(key, k, k_now - 120));
  CHECK_FALSE(verify_knock(key, k, k_now + 121));
  CHECK_FALSE(verify_knock(key, k, k_now - 121));
  CHECK_FALSE(verify_knock(key, make_knock(key, k_now - 200), k_now));
  CHECK_FALSE(verify_knock(key, make_knock(key, k_now + 200), k_now));
}

TEST_CASE("knock: any flipped bit, wrong size or extreme timestamp is refused") {
  auto key = key_of(3);
  auto k = make_knock(key, k_now);
  for (std::size_t i = 0; i < k.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      auto m = k;
      m[i] = static_cast<std::uint8_t>(m[i] ^ (1u << bit));
      CHECK_FALSE(verify_knock(key, m, k_now));
    }
  }
  ftsync::bytes longer(k.begin(), k.end());
  longer.push_back(0);
  CHECK_FALSE(looks_like_knock(longer));
  CHECK_FALSE(verify_knock(key, longer, k_now));
  CHECK_FALSE(verify_knock(key, ftsync::byte_view(k.data(), 43), k_now));
  CHECK_FALSE(verify_knock(key, ftsync::byte_view{}, k_now));
  for (std::int64_t t : {INT64_MIN, INT64_MAX, std::int64_t{0}, std::int64_t{-1}}) {
    CHECK_FALSE(verify_knock(key, make_knock(key, t), k_now));
  }
  // Near the int64 edges the window arithmetic must not overflow.
  CHECK(verify_knock(key, make_knock(key, INT64_MAX - 5), INT64_MAX - 5));
  CHECK(verify_knock(key, make_knock(key, INT64_MIN + 5), INT64_MIN + 5));
}

TEST_CASE("admission_table: entries expire after the ttl and can be refreshed") {
  admission_table t(16, 10s);
  mono_time t0{};
  t.admit(1, t0);
  CHECK(t.admitted(1, t0));
  CHECK(t.admitted(1, t0 + 9999ms));
  CHECK_FALSE(t.admitted(1, t0 + 10s));
  CHECK(t.size() == 0);

  t.admit(2, t0);
  t.admit(2, t0 + 5s);  // refresh
  CHECK(t.admitted(2, t0 + 14s));
  CHECK_FALSE(t.admitted(2, t0 + 15s));
  CHECK_FALSE(t.admitted(3, t0));
}

TEST_CASE("admission_table: bounded, evicts the entry that expires first") {
  admission_table t(4, 10s);
  mono_time t0{};
  for (std::uint64_t k = 1; k <= 4; ++k) t.admit(k, t0 + std::chrono::milliseconds(k));
  t.admit(1, t0 + 10ms);  // 1 is now the newest
  t.admit(5, t0 + 11ms);  // evicts 2, the oldest live entry
  CHECK(t.size() == 4);
  CHECK(t.admitted(1, t0 + 20ms));
  CHECK_FALSE(t.admitted(2, t0 + 20ms));
  CHECK(t.admitted(3, t0 + 20ms));
  CHECK(t.admitted(5, t0 + 20ms));

  // A flood of refreshes and new keys keeps memory bounded.
  admission_table big(64, 10s);
  for (std::uint64_t i = 0; i < 100000; ++i) big.admit(i % 3 == 0 ? 7 : i, t0 + std::chrono::microseconds(i));
  CHECK(big.size() == 64);
  CHECK(big.admitted(7, t0 + 1s));
}
