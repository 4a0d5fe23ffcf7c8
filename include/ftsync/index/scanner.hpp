#pragma once
// The scanner brings a folder's index up to date with the disk: it walks
// the tree (never following symlinks, skipping ignored paths and ftsync's
// own files), compares each file's size, mtime, inode and ctime with its
// index entry, and reads and chunks only the files where one differs. So a
// restart on an unchanged tree reads no file content (scan_stats counts the
// files and bytes it read, which the tests check).
//
// A change found here is a new local version: the entry's version vector
// is bumped for this node. A path in the index that is gone from disk
// becomes a tombstone (also a new version).
#include <ftsync/index/database.hpp>
#include <ftsync/index/ignore.hpp>
#include <ftsync/store/root.hpp>

#include <ftsync/util/keep_alive.hpp>

#include <cstdint>
#include <vector>

namespace ftsync::index {

struct scan_stats {
  std::uint64_t files = 0;         // regular files seen
  std::uint64_t dirs = 0;          // directories seen (root excluded)
  std::uint64_t hashed_files = 0;  // files whose content was read and chunked
  std::uint64_t hashed_bytes = 0;
  std::uint64_t changed = 0;       // new versions recorded (edits, new paths, mode/mtime)
  std::uint64_t deleted = 0;       // new tombstones
  std::uint64_t skipped = 0;       // symlinks, special files, unreadable entries
};

struct scan_options {
  device_id me = 0;
  std::uint64_t now_s = 0;  // for version_vector::bump; 0: the wall clock
  keep_alive_fn keep_alive;  // optional; called every ~100 ms (util/keep_alive.hpp)
};

// Reads the file at `path`, cutting it with the content-defined chunker and
// hashing each chunk; returns the chunk list, or errors from the store.
struct hashed_file {
  store::file_info info;  // as fstat'ed when opened
  std::vector<chunk> chunks;
  crypto::digest hash{};
};
result<hashed_file> hash_file(const store::root& root, const rel_path& path, const keep_alive_fn& keep_alive = {});

// Scans the whole folder.
result<scan_stats> scan(const store::root& root, database& db, const ignore_matcher& ignore,
                        const scan_options& opts);

// Scans only `paths` and everything beneath them: the paths an inotify
// watcher named (store/watcher.hpp), so that one change in a 100k-file
// folder costs a few stats instead of 100k. A path that is gone, or is now
// a special file, becomes a tombstone with everything the index had
// beneath it (a directory turned symlink: the link is indexed instead). A path whose parent the index does not know as a
// directory widens to that parent. The root among `paths` means a full
// scan() with `ignore` as given (re-reading the rules is the caller's job).
result<scan_stats> scan_paths(const store::root& root, database& db, const ignore_matcher& ignore,
                              const scan_options& opts, std::vector<rel_path> paths);

// The text of .ftsyncignore in the folder root ("" when missing).
result<std::string> read_ignore_file(const store::root& root);
// Loads .ftsyncignore from the folder root (an empty matcher when missing).
result<ignore_matcher> load_ignore(const store::root& root);

}  // namespace ftsync::index
