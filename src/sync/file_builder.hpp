#pragma once
// Builds one file of a synced folder from its chunk list, in the partial
// file beside the target (store::partial_file): chunks already in a kept
// partial file (an interrupted earlier sync) are kept after re-hashing,
// chunks found anywhere in the folder's index are copied locally
// (copy_file_range) and re-verified, and only the rest is asked of the peer.
// Nothing appears at the final path before every chunk and the whole-file
// hash verified and the target was checked unchanged since it was indexed.
#include <ftsync/sync/folder.hpp>

#include <map>
#include <optional>
#include <vector>

namespace ftsync::sync {

struct build_counters {
  std::uint64_t resumed_bytes = 0;   // kept from a partial file
  std::uint64_t reused_bytes = 0;    // copied from elsewhere in the folder
  std::uint64_t received_bytes = 0;  // written from the peer's data
};

class file_builder {
 public:
  // `want` is the version being built (size, mtime, mode, hash, version);
  // `target` is where it goes (want.path, or a conflict copy's name).
  static result<file_builder> open(folder& f, const rel_path& target, const index::file_entry& want);
  // When the version being built replaces a directory (`expect`, what the
  // plan saw at the target, is a live directory): removes that directory,
  // which must be empty by now (the planner runs the deletions beneath it
  // first). A directory that still holds entries (new or ignored ones) is
  // kept, errc::not_empty, and the file waits for a later round.
  static status make_way(folder& f, const rel_path& target, const std::optional<index::file_entry>& expect);

  // A symlink needs no chunks: makes `target` a link to want.target, after
  // the same make_way and unchanged-target checks as a file's commit, and
  // records it (want, with this disk's inode and ctime) in the index.
  static status place_symlink(folder& f, const rel_path& target, const index::file_entry& want,
                              const std::optional<index::file_entry>& expect);

  // Adds the next page of the chunk list (peer input: checked to be
  // contiguous, 1..chunk_max bytes each, within want.size) and returns the
  // indices of those chunks still needed from the peer.
  result<std::vector<std::uint64_t>> add_chunks(const std::vector<index::chunk>& page);
  bool list_complete() const noexcept { return m_next_offset == m_want.size; }
  // Data for a needed chunk; errc::hash_mismatch when it is not the chunk.
  status put(std::uint64_t index, byte_view data);
  std::size_t missing() const noexcept { return m_missing; }
  const std::vector<index::chunk>& chunks() const noexcept { return m_chunks; }
  const build_counters& counters() const noexcept { return m_counters; }

  // Verifies, checks that the target still is `expect` (nullopt or a
  // tombstone: nothing there), renames into place and records the new entry
  // (want, with this disk's inode and ctime) in the index.
  status commit(const std::optional<index::file_entry>& expect, const keep_alive_fn& keep_alive = {});

 private:
  file_builder(folder& f, rel_path target, index::file_entry want, store::partial_file p)
      : m_folder(&f), m_target(std::move(target)), m_want(std::move(want)), m_partial(std::move(p)) {}
  static status check_unchanged(folder& f, const rel_path& target, const std::optional<index::file_entry>& expect);
  bool try_local(const index::chunk& c);
  folder* m_folder;
  rel_path m_target;
  index::file_entry m_want;
  store::partial_file m_partial;
  std::uint64_t m_partial_size = 0;  // what an earlier run left
  std::vector<index::chunk> m_chunks;
  std::vector<bool> m_have;
  std::size_t m_missing = 0;
  std::uint64_t m_next_offset = 0;
  build_counters m_counters;
  std::map<std::string, store::reader> m_readers;  // sources of local reuse
  bytes m_buf;
};

}  // namespace ftsync::sync
