#pragma once
// One synced folder on this node: the confined root, its index database,
// its ignore rules and this node's device id. Both ends of a sync use it:
// the client engine for its local folder, the server for the folder it
// serves (so edits made directly in a served folder are indexed and flow
// back to clients).
#include <ftsync/index/database.hpp>
#include <ftsync/index/ignore.hpp>
#include <ftsync/index/scanner.hpp>
#include <ftsync/store/root.hpp>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace ftsync::sync {

// Where the index of `folder` lives: <state_dir>/index/<16 hex>.db, the hex
// being the first 8 bytes of BLAKE2b-256 of the folder's absolute path.
std::filesystem::path index_file_for(const std::filesystem::path& state_dir,
                                     const std::filesystem::path& folder);

class folder {
 public:
  // Opens (with `create`: creating when missing) the folder and its index.
  static result<std::unique_ptr<folder>> open(const std::filesystem::path& dir,
                                              const std::filesystem::path& db_file, index::device_id me,
                                              bool create);

  store::root& root() noexcept { return m_root; }
  index::database& db() noexcept { return m_db; }
  const index::ignore_matcher& ignore() const noexcept { return m_ignore; }
  index::device_id me() const noexcept { return m_me; }

  // Re-reads .ftsyncignore and scans the whole tree (stat only for
  // unchanged files).
  // `keep_alive` runs every ~100 ms meanwhile (index/scanner.hpp).
  result<index::scan_stats> rescan(const keep_alive_fn& keep_alive = {});
  // Rescans only `changed` and what is beneath them (the paths a watcher
  // reported); when one of them is the root (as the watcher reports a
  // change of .ftsyncignore), re-reads the rules and rescans everything.
  result<index::scan_stats> rescan_paths(std::vector<rel_path> changed, const keep_alive_fn& keep_alive = {});
  // Changes whenever the ignore rules' text does.
  std::uint64_t ignore_generation() const noexcept { return m_ignore_generation; }
  // Totals of the last rescan.
  const index::scan_stats& last_scan() const noexcept { return m_last; }

  // True when the disk still shows `e` as the index recorded it: a live
  // file with the same size, mtime and inode (ctime excluded: our own chmod
  // and utimens move it), a directory, a symlink with the same inode and
  // target, or nothing for a tombstone. Used
  // before replacing or deleting anything, so a change made since the last
  // scan is never overwritten.
  bool disk_matches(const index::file_entry& e);
  // True when the regular file at `path` has other hard links: its mode and
  // mtime cannot be set in place (store::root refuses), so a metadata-only
  // change is applied by rewriting the file from its own chunks instead.
  bool has_other_links(const rel_path& path) const;

 private:
  folder(store::root r, index::database db, index::device_id me)
      : m_root(std::move(r)), m_db(std::move(db)), m_me(me) {}
  store::root m_root;
  index::database m_db;
  index::ignore_matcher m_ignore;
  index::device_id m_me = 0;
  index::scan_stats m_last;
  // .ftsyncignore's text as last parsed (empty when missing): a rescan
  // with the same rules keeps the generation, so the engine's plan stays
  // incremental.
  std::string m_ignore_text;
  std::uint64_t m_ignore_generation = 0;
  status reload_ignore();
};

}  // namespace ftsync::sync
