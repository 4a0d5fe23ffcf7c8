#pragma once
// One path's record in a folder index: what the file or directory looks
// like (size, mtime, mode, content hash), how the scanner recognises it
// unchanged without reading it (inode, ctime), which version it is
// (version vector) and when this index last changed it (sequence).
// A deleted path stays as a tombstone (deleted = true) so the deletion
// travels to peers instead of the file coming back from them.
#include <ftsync/crypto/hash.hpp>
#include <ftsync/crypto/keys.hpp>
#include <ftsync/index/version_vector.hpp>
#include <ftsync/util/rel_path.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace ftsync::index {

// The numbers are stored in the index database: never renumber.
enum class entry_kind : std::uint8_t { file = 0, directory = 1, symlink = 2 };

// A content-defined chunk of a file (store/chunker.hpp).
struct chunk {
  std::uint64_t offset = 0;
  std::uint32_t size = 0;
  crypto::digest hash{};  // BLAKE2b-256 of the chunk's bytes
  bool operator==(const chunk&) const = default;
};

struct file_entry {
  rel_path path;
  entry_kind kind = entry_kind::file;
  bool deleted = false;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::uint32_t mode = 0;  // permission bits
  // Change detection only, local to one node (never sent).
  std::uint64_t inode = 0;
  std::int64_t ctime_ns = 0;
  // Files: crypto::file_hasher over the chunk hashes (crypto/hash.hpp), so
  // equal hashes mean equal chunk lists. Symlinks: BLAKE2b-256 of the target
  // (conflict tie-breaks compare hashes). Zero for directories and tombstones.
  crypto::digest hash{};
  std::string target;  // symlinks: the link's text, verbatim; size is its length
  version_vector version;
  std::uint64_t sequence = 0;  // this index's change counter when last changed

  // Same data: both deleted, or the same kind and (files) the same content,
  // (symlinks) the same target.
  bool same_data(const file_entry& o) const noexcept;
  // Same data, mode and (files) mtime: nothing to apply. A symlink's mode
  // and mtime are not synced (Linux has no lchmod; the link's own mtime
  // means nothing to the programs that follow it).
  bool same_state(const file_entry& o) const noexcept;
};

// First 8 bytes of BLAKE2b-256(public key), little-endian.
device_id device_of(const crypto::public_key& key);

// The whole-file hash of a chunk list.
crypto::digest file_hash_of(const std::vector<chunk>& chunks, std::uint64_t size);

// "NAME.sync-conflict-YYYYMMDD-HHMMSS-PEERID.EXT" (Syncthing's form): the
// extension is everything from the last '.' of the file name when the dot is
// not its first character; `unix_s` is rendered in UTC; `peer` is the short
// id (crypto::short_id) of the node whose version lost.
std::string conflict_name(std::string_view name, std::int64_t unix_s, std::string_view peer);

}  // namespace ftsync::index
