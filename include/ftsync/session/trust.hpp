#pragma once
// Trusted peers: who may open a session with this node, under which name,
// at which address, and with which rights. Stored as a small text file, one
// peer per line:  NAME <TAB> ID <TAB> ADDRESS-or-"-" <TAB> "rw"|"ro"
// Lines starting with '#' are comments. The file must be 0600 and owned by
// the user (errc::unsafe_permissions otherwise), like the identity key.
#include <ftsync/crypto/keys.hpp>
#include <ftsync/util/result.hpp>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace ftsync::session {

struct peer_entry {
  std::string name;  // [A-Za-z0-9._-]{1,64}, unique; used as PEER in PEER:PATH
  crypto::public_key key;
  std::string address;  // "host:port" or empty
  bool read_only = false;
};

// Checks a peer name: 1-64 characters of [A-Za-z0-9._-], not starting with '-'.
status validate_peer_name(std::string_view name);

class trust_store {
 public:
  // Loads `file`; a missing file is an empty store.
  static result<trust_store> load(const std::filesystem::path& file);
  // Writes atomically (temp + rename) with mode 0600.
  status save() const;

  const std::vector<peer_entry>& peers() const noexcept { return m_peers; }
  const peer_entry* find_by_name(std::string_view name) const;
  const peer_entry* find_by_key(const crypto::public_key& key) const;
  // Adds or replaces (same name or same key) an entry.
  status upsert(peer_entry entry);
  // Removes by name or by id text; errc::not_found if neither matches.
  status remove(std::string_view name_or_id);

 private:
  std::filesystem::path m_file;
  std::vector<peer_entry> m_peers;
};

// Re-reads the trust file when its mtime or size changes, so `ftsync trust`
// and `untrust` apply to new sessions of a running server without restart.
class trust_watcher {
 public:
  explicit trust_watcher(std::filesystem::path file);
  // The entry for `key`, read from the file's current contents; nullopt if
  // untrusted or the file cannot be read safely (fail closed).
  std::optional<peer_entry> lookup(const crypto::public_key& key);

 private:
  std::filesystem::path m_file;
  std::optional<trust_store> m_cached;
  std::int64_t m_mtime_ns = -1;
  std::uint64_t m_size = 0;
  // Also compared on each lookup: every save() is a rename (new inode), and a
  // chmod or chown that makes the file unsafe must take effect at once.
  std::uint64_t m_inode = 0;
  std::uint32_t m_mode = 0;
  std::uint32_t m_uid = 0;
};

}  // namespace ftsync::session
