#include <ftsync/crypto/hash.hpp>
#include <ftsync/util/assert.hpp>

#include "crypto/sodium.hpp"

namespace ftsync::crypto {

static_assert(digest_bytes == crypto_generichash_BYTES);

namespace {
// Domain labels: a file hash can never equal a prefix hash or a block hash
// of the same bytes.
constexpr std::string_view k_file_label = "ftsync-file-v1";
constexpr std::string_view k_prefix_label = "ftsync-prefix-v1";
}  // namespace

digest hash_block(byte_view data) noexcept {
  digest out{};
  crypto_generichash(out.data(), out.size(), data.data(), data.size(), nullptr, 0);
  return out;
}

struct hasher::state {
  crypto_generichash_state st;  // 64-byte aligned; operator new honours that (C++17)
  bool finished = false;
  ~state() { detail::wipe(st); }  // keyed mode: the state holds the key
};

hasher::hasher() : m_state(std::make_unique<state>()) {
  crypto_generichash_init(&m_state->st, nullptr, 0, digest_bytes);
}

hasher::hasher(byte_view key) : m_state(std::make_unique<state>()) {
  // The key comes from our own code (derived keys), never from a peer.
  FTSYNC_ASSERT(key.size() >= crypto_generichash_KEYBYTES_MIN &&
                key.size() <= crypto_generichash_KEYBYTES_MAX);
  crypto_generichash_init(&m_state->st, key.data(), key.size(), digest_bytes);
}

hasher::hasher(hasher&&) noexcept = default;
hasher& hasher::operator=(hasher&&) noexcept = default;
hasher::~hasher() = default;

void hasher::update(byte_view data) noexcept {
  FTSYNC_ASSERT(m_state && !m_state->finished);
  detail::hash_update(m_state->st, data);
}

digest hasher::finish() noexcept {
  FTSYNC_ASSERT(m_state && !m_state->finished);
  digest out{};
  crypto_generichash_final(&m_state->st, out.data(), out.size());
  m_state->finished = true;
  return out;
}

void file_hasher::add_block(const digest& block_hash) { m_blocks.push_back(block_hash); }

digest file_hasher::finish(std::uint64_t file_size) {
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, digest_bytes);
  detail::hash_update(st, k_file_label);
  byte size_le[8];
  detail::put_le64(size_le, file_size);
  detail::hash_update(st, byte_view(size_le));
  for (const digest& h : m_blocks) detail::hash_update(st, byte_view(h));
  digest out{};
  crypto_generichash_final(&st, out.data(), out.size());
  return out;
}

digest prefix_hash(const std::vector<digest>& block_hashes, std::size_t count) {
  // `count` may come from a peer. Asking for more blocks than the list holds
  // is not a bug worth aborting for: the label commits to `count`, so hashing
  // the shorter list gives a value no real prefix of `count` blocks matches
  // and the comparison the caller makes simply fails.
  const std::size_t available = count < block_hashes.size() ? count : block_hashes.size();
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, digest_bytes);
  detail::hash_update(st, k_prefix_label);
  byte count_le[8];
  detail::put_le64(count_le, count);
  detail::hash_update(st, byte_view(count_le));
  for (std::size_t i = 0; i < available; ++i) detail::hash_update(st, byte_view(block_hashes[i]));
  digest out{};
  crypto_generichash_final(&st, out.data(), out.size());
  return out;
}

}  // namespace ftsync::crypto
