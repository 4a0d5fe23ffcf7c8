#pragma once
// Long-term node identities (Ed25519) and their printable ids.
//
// A node id is the 32-byte Ed25519 public key followed by a 3-byte BLAKE2b
// checksum of it, base32-encoded (RFC 4648 alphabet, no padding: 56 chars)
// and grouped in 7 blocks of 8 joined by '-'. The checksum catches a mistyped
// or truncated id when pasted into `ftsync trust` (Syncthing uses Luhn
// characters for the same reason). parse_id accepts lower case and ignores
// '-' and spaces.
#include <ftsync/util/bytes.hpp>
#include <ftsync/util/result.hpp>

#include <array>
#include <filesystem>
#include <string>
#include <string_view>

namespace ftsync::crypto {

inline constexpr std::size_t key_bytes = 32;        // Ed25519/X25519 public keys, symmetric keys
inline constexpr std::size_t signature_bytes = 64;  // Ed25519 signatures

using key32 = std::array<byte, key_bytes>;
using signature = std::array<byte, signature_bytes>;

struct public_key {
  key32 bytes{};
  friend bool operator==(const public_key&, const public_key&) = default;
  friend auto operator<=>(const public_key&, const public_key&) = default;
};

std::string format_id(const public_key& key);
result<public_key> parse_id(std::string_view text);
// First 8 characters of the id: enough to tell peers apart in logs and file names.
std::string short_id(const public_key& key);

bool verify(const public_key& signer, byte_view message, const signature& sig) noexcept;

// A node's long-term signing key. The secret half lives in locked memory and
// is wiped on destruction; the object is move-only.
class identity {
 public:
  static result<identity> generate();
  // Loads a key file written by save(). Refuses (errc::unsafe_permissions) a
  // file that is a symlink, not owned by the effective user, or has any
  // group/other permission bit (OpenSSH sshkey_perm_ok).
  static result<identity> load(const std::filesystem::path& file);
  // Writes the key with mode 0600 via a temp file and rename; refuses to
  // replace an existing file unless `overwrite` (errc::already_exists).
  status save(const std::filesystem::path& file, bool overwrite) const;

  identity(identity&&) noexcept;
  identity& operator=(identity&&) noexcept;
  identity(const identity&) = delete;
  identity& operator=(const identity&) = delete;
  ~identity();

  const public_key& key() const noexcept { return m_public; }
  signature sign(byte_view message) const;

 private:
  identity() = default;
  public_key m_public;
  byte* m_secret = nullptr;  // 64 bytes from sodium_malloc
};

// Initialises libsodium; safe to call many times. Fails only if the library
// cannot initialise (no entropy source).
status init();

void random_bytes(std::span<byte> out) noexcept;

}  // namespace ftsync::crypto
