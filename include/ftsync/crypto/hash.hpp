#pragma once
// Content hashes: BLAKE2b-256 (libsodium crypto_generichash), ~1 GB/s on one
// core here (lab/RESULTS.md §5), so hashing never limits a single transfer.
//
// A file's hash is not the hash of its bytes but of its block hashes:
//   file_hash = BLAKE2b-256("ftsync-file-v1" || le64(size) || h(block0) || h(block1) ...)
// so sender and receiver compute it from per-block hashes they need anyway
// (no second pass) and a resumed transfer reuses the hashes of the blocks it
// kept.
#include <ftsync/util/bytes.hpp>

#include <array>
#include <cstdint>
#include <memory>
#include <string>

namespace ftsync::crypto {

inline constexpr std::size_t digest_bytes = 32;
using digest = std::array<byte, digest_bytes>;

digest hash_block(byte_view data) noexcept;

// Incremental BLAKE2b-256 over arbitrary data.
class hasher {
 public:
  hasher();
  explicit hasher(byte_view key);  // keyed (MAC) mode, key 16..64 bytes
  hasher(hasher&&) noexcept;
  hasher& operator=(hasher&&) noexcept;
  ~hasher();
  void update(byte_view data) noexcept;
  digest finish() noexcept;  // may be called once

 private:
  struct state;
  std::unique_ptr<state> m_state;
};

// Accumulates block hashes, in order, into the whole-file hash above.
class file_hasher {
 public:
  void add_block(const digest& block_hash);
  digest finish(std::uint64_t file_size);
  std::size_t blocks() const noexcept { return m_blocks.size(); }
  const std::vector<digest>& block_hashes() const noexcept { return m_blocks; }

 private:
  std::vector<digest> m_blocks;
};

// Hash of the first `count` block hashes of a list, used to compare a kept
// partial file's prefix with the source without sending every hash.
digest prefix_hash(const std::vector<digest>& block_hashes, std::size_t count);

}  // namespace ftsync::crypto
