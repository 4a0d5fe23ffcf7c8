#include "transport/gate.hpp"

#include <ftsync/util/assert.hpp>

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <vector>

namespace ftsync::transport::detail {
namespace {

constexpr byte k_magic[4] = {'F', 'T', 'K', '1'};

void ensure_sodium() {
  static std::once_flag once;
  // sodium_init only fails when the OS has no randomness source; nothing
  // secure can run then, so treat it as a broken invariant.
  std::call_once(once, [] { FTSYNC_ASSERT(sodium_init() >= 0); });
}

void compute_mac(const gate_key& key, const byte* body, byte* mac) noexcept {
  crypto_generichash(mac, knock_mac_size, body, knock_mac_offset, key.data(), key.size());
}

}  // namespace

knock make_knock(const gate_key& key, std::int64_t unix_seconds) {
  ensure_sodium();
  knock k{};
  std::memcpy(k.data(), k_magic, sizeof k_magic);
  auto t = static_cast<std::uint64_t>(unix_seconds);
  for (int i = 0; i < 8; ++i) k[4 + static_cast<std::size_t>(i)] = static_cast<byte>(t >> (8 * i));
  randombytes_buf(k.data() + 12, 16);
  compute_mac(key, k.data(), k.data() + knock_mac_offset);
  return k;
}

bool looks_like_knock(byte_view datagram) noexcept {
  return datagram.size() == knock_size && std::memcmp(datagram.data(), k_magic, sizeof k_magic) == 0;
}

bool verify_knock(const gate_key& key, byte_view datagram, std::int64_t now_unix_seconds) noexcept {
  if (!looks_like_knock(datagram)) return false;
  std::uint64_t t = 0;
  for (int i = 7; i >= 0; --i) t = (t << 8) | datagram[4 + static_cast<std::size_t>(i)];
  // Compare in unsigned space after offsetting, so no signed overflow for a
  // hostile timestamp: valid iff now - skew <= t <= now + skew.
  auto lo = static_cast<std::uint64_t>(now_unix_seconds) - static_cast<std::uint64_t>(knock_max_skew_seconds);
  if (t - lo > static_cast<std::uint64_t>(2 * knock_max_skew_seconds)) return false;
  byte mac[knock_mac_size];
  compute_mac(key, datagram.data(), mac);
  return sodium_memcmp(mac, datagram.data() + knock_mac_offset, knock_mac_size) == 0;
}

admission_table::admission_table(std::size_t capacity, mono_clock::duration ttl)
    : m_capacity(capacity), m_ttl(ttl) {
  FTSYNC_ASSERT(capacity > 0);
}

void admission_table::admit(std::uint64_t key, mono_time now) {
  expire(now);
  auto expiry = now + m_ttl;
  auto it = m_expiry.find(key);
  if (it != m_expiry.end()) {
    it->second = expiry;
  } else {
    if (m_expiry.size() >= m_capacity) evict_one();
    m_expiry.emplace(key, expiry);
  }
  m_order.push_back({key, expiry});
  // Each refresh leaves one stale record; rebuild once they outnumber the
  // live ones so memory stays O(capacity) under a knock flood.
  if (m_order.size() > 2 * m_capacity) compact();
}

bool admission_table::admitted(std::uint64_t key, mono_time now) {
  auto it = m_expiry.find(key);
  if (it == m_expiry.end()) return false;
  if (it->second > now) return true;
  expire(now);
  return false;
}

void admission_table::expire(mono_time now) {
  while (!m_order.empty() && m_order.front().expiry <= now) {
    auto it = m_expiry.find(m_order.front().key);
    if (it != m_expiry.end() && it->second == m_order.front().expiry) m_expiry.erase(it);
    m_order.pop_front();
  }
}

void admission_table::evict_one() {
  while (!m_order.empty()) {
    record r = m_order.front();
    m_order.pop_front();
    auto it = m_expiry.find(r.key);
    if (it != m_expiry.end() && it->second == r.expiry) {
      m_expiry.erase(it);
      return;
    }
  }
}

void admission_table::compact() {
  std::vector<record> live;
  live.reserve(m_expiry.size());
  for (const auto& [key, expiry] : m_expiry) live.push_back({key, expiry});
  std::sort(live.begin(), live.end(), [](const record& a, const record& b) { return a.expiry < b.expiry; });
  m_order.assign(live.begin(), live.end());
}

}  // namespace ftsync::transport::detail
