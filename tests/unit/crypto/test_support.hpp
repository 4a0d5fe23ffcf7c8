#pragma once
// Small helpers shared by the crypto unit tests.
#include <cstdlib>
#include <filesystem>
#include <ftsync/crypto/keys.hpp>
#include <ftsync/util/assert.hpp>
#include <string>
#include <string_view>

namespace ftsync::crypto::test {

inline bytes from_hex(std::string_view hex) {
  bytes out;
  auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<byte>(nibble(hex[i]) * 16 + nibble(hex[i + 1])));
  return out;
}

// mkdtemp directory under /tmp, removed with everything in it on scope exit.
class temp_dir {
 public:
  temp_dir() {
    std::string tmpl = "/tmp/ftsync-crypto-test-XXXXXX";
    FTSYNC_ASSERT(::mkdtemp(tmpl.data()) != nullptr);
    m_path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(m_path, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const { return m_path; }

 private:
  std::filesystem::path m_path;
};

inline identity make_identity() {
  auto id = identity::generate();
  FTSYNC_ASSERT(id.ok());
  return std::move(id).value();
}

}  // namespace ftsync::crypto::test
