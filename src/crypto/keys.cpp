#include <ftsync/crypto/keys.hpp>
#include <ftsync/util/assert.hpp>
#include <ftsync/util/file_mode.hpp>

#include "crypto/base32.hpp"
#include "crypto/sodium.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>

namespace ftsync::crypto {

namespace detail {
bool sodium_ready() noexcept {
  static const bool ready = sodium_init() >= 0;
  return ready;
}
}  // namespace detail

namespace {

// 3 checksum bytes: 35 bytes = 280 bits = exactly 56 base32 characters, and a
// random typo slips through with probability 2^-24.
constexpr std::size_t k_checksum_bytes = 3;
constexpr std::size_t k_id_chars = 56;
constexpr std::size_t k_group_chars = 8;
constexpr std::size_t k_seed_bytes = crypto_sign_SEEDBYTES;
// A key file is two short lines; anything much larger is not ours.
constexpr std::size_t k_max_key_file = 4096;
constexpr std::string_view k_key_file_header = "# ftsync identity: Ed25519 seed, keep secret\n";

std::array<byte, k_checksum_bytes> id_checksum(const public_key& key) {
  std::array<byte, crypto_generichash_BYTES> h{};
  crypto_generichash(h.data(), h.size(), key.bytes.data(), key.bytes.size(), nullptr, 0);
  return {h[0], h[1], h[2]};
}

error errno_error(int err, const std::string& what, const std::filesystem::path& path) {
  errc code = errc::io;
  if (err == ENOENT)
    code = errc::not_found;
  else if (err == EACCES || err == EPERM)
    code = errc::permission_denied;
  else if (err == ENOSPC || err == EDQUOT)
    code = errc::no_space;
  else if (err == EEXIST)
    code = errc::already_exists;
  return make_error(code, what + " " + path.string() + ": " + std::strerror(err));
}

// Closes a descriptor on every path out of a function.
struct fd_guard {
  int fd = -1;
  ~fd_guard() {
    if (fd >= 0) ::close(fd);
  }
};

// Secret scratch memory for the seed and its hex text.
struct secret_buffer {
  explicit secret_buffer(std::size_t n) : size(n), data(static_cast<byte*>(sodium_malloc(n))) {}
  ~secret_buffer() { sodium_free(data); }
  secret_buffer(const secret_buffer&) = delete;
  secret_buffer& operator=(const secret_buffer&) = delete;
  std::size_t size;
  byte* data;
};

status write_all(int fd, const byte* data, std::size_t size, const std::filesystem::path& path) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(errno, "cannot write", path);
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return {};
}

}  // namespace

status init() {
  if (!detail::sodium_ready()) return make_error(errc::internal, "libsodium failed to initialise");
  return {};
}

void random_bytes(std::span<byte> out) noexcept {
  FTSYNC_ASSERT(detail::sodium_ready());
  // An empty span may have a null data(), which randombytes_buf must not get.
  if (out.empty()) return;
  randombytes_buf(out.data(), out.size());
}

std::string format_id(const public_key& key) {
  bytes raw(key.bytes.begin(), key.bytes.end());
  const auto sum = id_checksum(key);
  raw.insert(raw.end(), sum.begin(), sum.end());
  const std::string plain = detail::base32_encode(raw);
  std::string out;
  out.reserve(plain.size() + plain.size() / k_group_chars);
  for (std::size_t i = 0; i < plain.size(); ++i) {
    if (i > 0 && i % k_group_chars == 0) out.push_back('-');
    out.push_back(plain[i]);
  }
  return out;
}

std::string short_id(const public_key& key) { return format_id(key).substr(0, k_group_chars); }

result<public_key> parse_id(std::string_view text) {
  std::string plain;
  plain.reserve(k_id_chars);
  for (char c : text) {
    if (c == '-' || c == ' ') continue;
    if (plain.size() == k_id_chars)
      return make_error(errc::bad_key, "node id too long: expected 56 characters");
    plain.push_back(c);
  }
  if (plain.size() != k_id_chars)
    return make_error(errc::bad_key, "node id has " + std::to_string(plain.size()) +
                                         " characters, expected 56 (7 groups of 8)");
  auto raw = detail::base32_decode(plain);
  if (!raw) return make_error(errc::bad_key, "node id: " + raw.err().message);
  if (raw->size() != key_bytes + k_checksum_bytes)
    return make_error(errc::bad_key, "node id decodes to the wrong number of bytes");
  public_key key;
  std::memcpy(key.bytes.data(), raw->data(), key_bytes);
  const auto sum = id_checksum(key);
  if (std::memcmp(sum.data(), raw->data() + key_bytes, k_checksum_bytes) != 0)
    return make_error(errc::bad_key, "node id checksum mismatch: mistyped id?");
  return key;
}

bool verify(const public_key& signer, byte_view message, const signature& sig) noexcept {
  if (!detail::sodium_ready()) return false;
  return crypto_sign_verify_detached(sig.data(), message.data(), message.size(), signer.bytes.data()) == 0;
}

result<identity> identity::generate() {
  FTSYNC_TRY(init());
  identity id;
  id.m_secret = static_cast<byte*>(sodium_malloc(crypto_sign_SECRETKEYBYTES));
  if (id.m_secret == nullptr) return make_error(errc::internal, "cannot allocate secure memory");
  crypto_sign_keypair(id.m_public.bytes.data(), id.m_secret);
  sodium_mprotect_readonly(id.m_secret);
  return id;
}

result<identity> identity::load(const std::filesystem::path& file) {
  FTSYNC_TRY(init());
  // O_NOFOLLOW: a symlink fails with ELOOP instead of being followed.
  // O_NONBLOCK: a FIFO planted at the path must not hang us in open().
  fd_guard fd{::open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)};
  if (fd.fd < 0) {
    const int err = errno;
    if (err == ELOOP)
      return make_error(errc::unsafe_permissions,
                        "private key file " + file.string() + " is a symlink: refusing to follow it");
    return errno_error(err, "cannot open private key file", file);
  }
  struct stat st {};
  if (::fstat(fd.fd, &st) != 0) return errno_error(errno, "cannot stat private key file", file);
  if (!S_ISREG(st.st_mode))
    return make_error(errc::not_regular_file, "private key file " + file.string() + " is not a regular file");
  if (st.st_uid != ::geteuid())
    return make_error(errc::unsafe_permissions, "private key file " + file.string() + " is owned by uid " +
                                                    std::to_string(st.st_uid) + ", not by the current user");
  if ((st.st_mode & 077) != 0)
    return make_error(errc::unsafe_permissions, "unprotected private key file " + file.string() + " (mode " +
                                                    octal_mode(st.st_mode) + "): run chmod 600 " +
                                                    file.string());

  secret_buffer text(k_max_key_file + 1);
  if (text.data == nullptr) return make_error(errc::internal, "cannot allocate secure memory");
  std::size_t used = 0;
  while (used < text.size) {
    const ssize_t n = ::read(fd.fd, text.data + used, text.size - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(errno, "cannot read private key file", file);
    }
    if (n == 0) break;
    used += static_cast<std::size_t>(n);
  }
  if (used > k_max_key_file)
    return make_error(errc::bad_key, "private key file " + file.string() + " is too large to be a key");

  // The first line that is neither empty nor a '#' comment holds the seed.
  const std::string_view content(reinterpret_cast<const char*>(text.data), used);
  std::string_view hex;
  std::size_t pos = 0;
  while (pos < content.size()) {
    std::size_t end = content.find('\n', pos);
    if (end == std::string_view::npos) end = content.size();
    std::string_view line = content.substr(pos, end - pos);
    pos = end + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
      line.remove_suffix(1);
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.empty() || line.front() == '#') continue;
    hex = line;
    break;
  }
  secret_buffer seed(k_seed_bytes);
  if (seed.data == nullptr) return make_error(errc::internal, "cannot allocate secure memory");
  std::size_t seed_len = 0;
  const char* hex_end = nullptr;
  if (hex.size() != 2 * k_seed_bytes ||
      sodium_hex2bin(seed.data, seed.size, hex.data(), hex.size(), nullptr, &seed_len, &hex_end) != 0 ||
      seed_len != k_seed_bytes || hex_end != hex.data() + hex.size())
    return make_error(errc::bad_key,
                      "private key file " + file.string() + " does not hold a 64-hex-digit Ed25519 seed");

  identity id;
  id.m_secret = static_cast<byte*>(sodium_malloc(crypto_sign_SECRETKEYBYTES));
  if (id.m_secret == nullptr) return make_error(errc::internal, "cannot allocate secure memory");
  crypto_sign_seed_keypair(id.m_public.bytes.data(), id.m_secret, seed.data);
  sodium_mprotect_readonly(id.m_secret);
  return id;
}

status identity::save(const std::filesystem::path& file, bool overwrite) const {
  FTSYNC_ASSERT(m_secret != nullptr);  // saving a moved-from identity is a bug
  struct stat existing {};
  if (!overwrite && ::lstat(file.c_str(), &existing) == 0)
    return make_error(errc::already_exists, "key file " + file.string() + " already exists");

  // Content: header line + 64 hex digits + '\n', kept in secure memory.
  const std::size_t content_size = k_key_file_header.size() + 2 * k_seed_bytes + 1;
  secret_buffer content(content_size + 1);  // +1: sodium_bin2hex writes a NUL
  if (content.data == nullptr) return make_error(errc::internal, "cannot allocate secure memory");
  std::memcpy(content.data, k_key_file_header.data(), k_key_file_header.size());
  byte seed[k_seed_bytes];
  crypto_sign_ed25519_sk_to_seed(seed, m_secret);
  sodium_bin2hex(reinterpret_cast<char*>(content.data + k_key_file_header.size()), 2 * k_seed_bytes + 1, seed,
                 sizeof seed);
  sodium_memzero(seed, sizeof seed);
  content.data[content_size - 1] = '\n';

  // Temp file in the same directory so rename/link stay on one file system;
  // mkstemp creates it 0600 and O_EXCL, so nobody else can open it first.
  std::string tmp_name = file.string() + ".tmp-XXXXXX";
  fd_guard fd{::mkstemp(tmp_name.data())};
  if (fd.fd < 0) return errno_error(errno, "cannot create temporary key file next to", file);
  const std::filesystem::path tmp(tmp_name);
  auto fail = [&](error e) -> status {
    ::unlink(tmp.c_str());
    return e;
  };
  if (::fchmod(fd.fd, 0600) != 0) return fail(errno_error(errno, "cannot chmod", tmp));
  if (auto w = write_all(fd.fd, content.data, content_size, tmp); !w) return fail(std::move(w).err());
  if (::fsync(fd.fd) != 0) return fail(errno_error(errno, "cannot fsync", tmp));
  const int closing = fd.fd;
  fd.fd = -1;
  if (::close(closing) != 0) return fail(errno_error(errno, "cannot close", tmp));

  if (overwrite) {
    if (::rename(tmp.c_str(), file.c_str()) != 0)
      return fail(errno_error(errno, "cannot rename key file to", file));
  } else {
    // link() fails with EEXIST atomically, closing the window between the
    // lstat above and here in which another process could create the file.
    if (::link(tmp.c_str(), file.c_str()) == 0) {
      ::unlink(tmp.c_str());
    } else {
      const int err = errno;
      if (err == EEXIST)
        return fail(make_error(errc::already_exists, "key file " + file.string() + " already exists"));
      // File systems without hard links (vfat, some FUSE): fall back to a
      // second check and a rename, which has the (small) race back.
      if (err != EPERM && err != EOPNOTSUPP) return fail(errno_error(err, "cannot create key file", file));
      if (::lstat(file.c_str(), &existing) == 0)
        return fail(make_error(errc::already_exists, "key file " + file.string() + " already exists"));
      if (::rename(tmp.c_str(), file.c_str()) != 0)
        return fail(errno_error(errno, "cannot rename key file to", file));
    }
  }
  // Make the new directory entry durable too; failure here loses nothing
  // already written, so it is not reported.
  const auto dir = file.has_parent_path() ? file.parent_path() : std::filesystem::path(".");
  if (fd_guard dfd{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)}; dfd.fd >= 0) ::fsync(dfd.fd);
  return {};
}

identity::identity(identity&& other) noexcept : m_public(other.m_public), m_secret(other.m_secret) {
  other.m_secret = nullptr;
  other.m_public = public_key{};
}

identity& identity::operator=(identity&& other) noexcept {
  if (this != &other) {
    sodium_free(m_secret);  // sodium_free wipes before unmapping
    m_public = other.m_public;
    m_secret = other.m_secret;
    other.m_secret = nullptr;
    other.m_public = public_key{};
  }
  return *this;
}

identity::~identity() { sodium_free(m_secret); }

signature identity::sign(byte_view message) const {
  FTSYNC_ASSERT(m_secret != nullptr);  // signing with a moved-from identity is a bug
  signature sig{};
  crypto_sign_detached(sig.data(), nullptr, message.data(), message.size(), m_secret);
  return sig;
}

}  // namespace ftsync::crypto
