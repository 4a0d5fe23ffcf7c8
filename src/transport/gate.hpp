#pragma once
// The pre-authentication gate's two parts, kept free of ENet so they can be
// tested alone: the knock (a keyed MAC a client sends before ENet's CONNECT)
// and the admission table (which source addresses may reach ENet).
//
// Knock layout, 44 bytes:
//   "FTK1" | le64 unix seconds | 16 random bytes | 16-byte MAC
// MAC = keyed BLAKE2b-128 (crypto_generichash) over the first 28 bytes with
// the gate key. 128 bits make forgery hopeless; the timestamp bounds replay of
// a captured knock to +-120 s (clock skew between honest peers is seconds,
// NTP-less machines drift ~1 s/day). The nonce makes every knock unique so a
// later mac2/cookie scheme could key on it.
//
// An ENet datagram can never be mistaken for a knock: the first two bytes of
// an ENet datagram are its peerID field, and "FT" (0x4654) sets ENet's
// COMPRESSED flag (0x4000); ftsync never installs a compressor, so ENet would
// discard such a datagram anyway.
#include <ftsync/transport/host.hpp>
#include <ftsync/util/bytes.hpp>
#include <ftsync/util/clock.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <unordered_map>

namespace ftsync::transport::detail {

inline constexpr std::size_t knock_size = 44;
inline constexpr std::size_t knock_mac_offset = 28;
inline constexpr std::size_t knock_mac_size = 16;
inline constexpr std::int64_t knock_max_skew_seconds = 120;

using knock = std::array<byte, knock_size>;

// A fresh knock for `unix_seconds` (random nonce from libsodium).
knock make_knock(const gate_key& key, std::int64_t unix_seconds);

// Cheap pre-check: right size and magic. Says nothing about validity.
bool looks_like_knock(byte_view datagram) noexcept;

// True when the MAC verifies (constant-time compare) and the timestamp is
// within knock_max_skew_seconds of `now_unix_seconds`.
bool verify_knock(const gate_key& key, byte_view datagram, std::int64_t now_unix_seconds) noexcept;

// Source addresses admitted by a valid knock, each for `ttl`. Bounded: when
// full, the entry that expires first is evicted, so a flood of valid knocks
// (from someone who knows the server id) costs a fixed amount of memory and
// can only push out admissions, never established ENet peers (those pass the
// gate by their peer address, not through this table).
class admission_table {
 public:
  // 10 s is ~100 RTTs of a slow link: enough for ENet's CONNECT and its
  // retries (the client re-knocks every 500 ms meanwhile). 4096 entries
  // x ~64 bytes is ~256 KiB.
  static constexpr std::size_t default_capacity = 4096;
  static constexpr mono_clock::duration default_ttl = std::chrono::seconds(10);

  explicit admission_table(std::size_t capacity = default_capacity,
                           mono_clock::duration ttl = default_ttl);

  // Admits `key` until now + ttl (refreshes an existing entry).
  void admit(std::uint64_t key, mono_time now);
  // True while `key` is admitted; drops expired entries as a side effect.
  bool admitted(std::uint64_t key, mono_time now);
  std::size_t size() const noexcept { return m_expiry.size(); }

 private:
  void expire(mono_time now);
  void evict_one();
  void compact();

  struct record {
    std::uint64_t key;
    mono_time expiry;
  };
  std::size_t m_capacity;
  mono_clock::duration m_ttl;
  std::unordered_map<std::uint64_t, mono_time> m_expiry;
  // Expiry order. A refreshed key leaves a stale record behind (its expiry no
  // longer matches m_expiry); stale records are skipped and compacted away.
  std::deque<record> m_order;
};

}  // namespace ftsync::transport::detail
