#pragma once
// A directory tree that ftsync reads or writes, confined beneath an open
// directory handle. Every path is resolved with openat2(RESOLVE_BENEATH |
// RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS) relative to the root's fd (or,
// on kernels without openat2, an O_NOFOLLOW walk one component at a time),
// never by string checks: that is how rsync closed its traversal CVEs
// (research/security.md §1.7). Consequences:
//   - no symlink is ever followed, inside or outside the root: a symlink
//     anywhere in a path gives errc::path_escapes_root;
//   - the final component of an operation is acted on through its parent's
//     fd with *at() calls and AT_SYMLINK_NOFOLLOW, so a parent swapped for a
//     symlink after the check cannot redirect the operation;
//   - names starting with ".ftsync" (ftsync's temp files) are hidden from
//     list() and walk().
#include <ftsync/util/bytes.hpp>
#include <ftsync/util/keep_alive.hpp>
#include <ftsync/util/rel_path.hpp>
#include <ftsync/util/result.hpp>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace ftsync::store {

enum class file_kind : std::uint8_t { regular, directory, symlink, other };

struct file_info {
  std::string name;  // last component ("" for the root)
  file_kind kind = file_kind::regular;
  std::uint64_t size = 0;
  std::int64_t mtime_ns = 0;
  std::uint32_t mode = 0;  // permission bits (st_mode & 07777)
  // For change detection by the sync index (a file whose size, mtime, inode
  // and ctime are unchanged is not re-read): st_ino and st_ctim.
  std::uint64_t inode = 0;
  std::int64_t ctime_ns = 0;
  std::uint64_t links = 1;  // st_nlink: other names may share this inode (and its mode and mtime)
};

struct walk_entry {
  rel_path path;  // relative to the walk's start's parent: see walk()
  file_info info;
};

class reader;
class partial_file;
struct commit_item;

class root {
 public:
  // Opens an existing directory. errc::not_found / not_a_directory / io.
  static result<root> open(const std::filesystem::path& dir);
  // Same, creating the directory (and parents) first when missing.
  static result<root> open_or_create(const std::filesystem::path& dir);

  root(root&&) noexcept;
  root& operator=(root&&) noexcept;
  ~root();

  const std::filesystem::path& location() const noexcept { return m_location; }

  // lstat semantics: a symlink as the final component is reported as such.
  result<file_info> stat(const rel_path& path) const;
  // Entries sorted by name, reserved names left out.
  result<std::vector<file_info>> list(const rel_path& dir) const;
  // Depth-first, parents before children, names sorted. `start` itself is
  // included; paths are relative to the root. Symlinks and special files are
  // reported (kind symlink/other) but not descended into.
  result<std::vector<walk_entry>> walk(const rel_path& start) const;

  // With `parents`, creates missing parents and succeeds if the directory
  // exists; without, errc::already_exists if it exists.
  status make_dir(const rel_path& path, bool parents, std::uint32_t mode = 0755);
  status remove_dir(const rel_path& path);   // empty directories only (errc::not_empty)
  status remove_file(const rel_path& path);  // files and symlinks, never directories
  status remove_tree(const rel_path& path);  // recursive; never follows symlinks
  // rename(2) semantics: replaces an existing file; refuses to replace a
  // non-empty directory; errc::invalid_argument when moving a dir into itself.
  status rename(const rel_path& from, const rel_path& to);
  // Both refuse a regular file with other hard links (errc::not_regular_file):
  // one of its names may be outside the root, and a hard link is replaced by
  // a write, never written through, so its metadata is not changed either.
  status set_mtime(const rel_path& path, std::int64_t mtime_ns);
  // chmod of a regular file or directory (mode & 07777), never through a
  // symlink (errc::not_regular_file for one).
  status set_mode(const rel_path& path, std::uint32_t mode);

  // The target of symlink `path` as stored (never resolved):
  // errc::not_regular_file when `path` is not a symlink.
  result<std::string> read_link(const rel_path& path) const;
  // Makes `path` a symlink to `target`, atomically: the link is created
  // under a reserved temp name beside it and renamed over whatever file or
  // symlink holds the name (rename(2) refuses a directory). The target is
  // stored verbatim, as rsync -a and Syncthing do; ftsync itself never
  // follows it (see the top of this file).
  status make_symlink(const rel_path& path, std::string_view target);
  // Reads a small file at the top of the root whose name is reserved
  // (".ftsyncignore"): such names cannot be a rel_path. Never follows a
  // symlink. errc::not_found when missing, errc::too_large over `max_bytes`.
  result<std::string> read_reserved(std::string_view name, std::size_t max_bytes) const;

  // Opens a regular file for reading (errc::not_regular_file otherwise).
  result<reader> open_read(const rel_path& path) const;

  // Opens (creating or resuming) the partial file that will become `target`.
  // The temp file lives in target's directory as ".ftsync.<16 hex>.part", so
  // the final rename stays within one directory and filesystem. It is kept
  // after a failure or crash for resume and locked (flock) while open:
  // errc::busy when another transfer holds it. errc::is_a_directory when
  // target is an existing directory.
  result<partial_file> open_partial(const rel_path& target);

  // Removes partial files older than `max_age_s` under `dir` (recursively).
  status clean_partials(const rel_path& dir, std::int64_t max_age_s);

  int fd() const noexcept { return m_fd; }

 private:
  root(int fd, std::filesystem::path location) : m_fd(fd), m_location(std::move(location)) {}
  int m_fd = -1;
  std::filesystem::path m_location;
};

class reader {
 public:
  reader(reader&&) noexcept;
  reader& operator=(reader&&) noexcept;
  ~reader();
  const file_info& info() const noexcept { return m_info; }
  // Reads up to out.size() bytes at `offset`; fewer only at end of file.
  result<std::size_t> read_at(std::uint64_t offset, std::span<byte> out) const;

 private:
  friend class root;
  friend class partial_file;
  reader(int fd, file_info info) : m_fd(fd), m_info(std::move(info)) {}
  int m_fd = -1;
  file_info m_info;
};

class partial_file {
 public:
  partial_file(partial_file&&) noexcept;
  partial_file& operator=(partial_file&&) noexcept;
  // Closes (keeps the partial data on disk for a later resume).
  ~partial_file();

  // Bytes already in the partial file (from an earlier, interrupted transfer).
  std::uint64_t existing_size() const;
  result<std::size_t> read_at(std::uint64_t offset, std::span<byte> out) const;
  status truncate(std::uint64_t size);
  // errc::no_space on ENOSPC/EDQUOT.
  status write_at(std::uint64_t offset, byte_view data);
  // Copies `length` bytes of `src` at `src_offset` to `offset` in this file
  // (local block reuse: a chunk that already exists elsewhere in the folder
  // is copied, not sent). Uses copy_file_range (in-kernel, reflinks on
  // btrfs/xfs), falling back to pread/pwrite where the kernel or filesystem
  // cannot. errc::io when src is shorter than asked.
  status copy_from(const reader& src, std::uint64_t src_offset, std::uint64_t offset,
                   std::uint64_t length);
  // fsync, chmod (mode & 0777), set mtime, renameat over the target (atomic:
  // readers see the old file or the new one, never a mix), fsync the directory.
  // The file's fsync runs beside `keep_alive` (util/keep_alive.hpp): flushing
  // a large file can take longer than a peer waits. commit_together (below)
  // does the same for many files with one flush.
  status commit(std::int64_t mtime_ns, std::uint32_t mode, const keep_alive_fn& keep_alive = {});
  // Deletes the partial file (a transfer that can never resume, e.g. hash mismatch).
  status discard();

  struct state;  // store-internal (store/partial_state.hpp)

 private:
  friend class root;
  friend std::vector<status> commit_together(std::span<const commit_item> items, const keep_alive_fn& keep_alive);
  explicit partial_file(std::unique_ptr<state> s);
  int file_fd() const noexcept;
  const std::string& shown() const noexcept;
  std::unique_ptr<state> m_state;
};

// One finished partial file for commit_together.
struct commit_item {
  partial_file* file = nullptr;
  std::int64_t mtime_ns = 0;
  std::uint32_t mode = 0;
};

// Group commit: what commit() does for each item, with one flush for all of
// them. An fsync per file made a server that receives many small files wait
// for the disk once per file (~1,000 files/s here, against ~3,700-8,300 with
// one syncfs per 32 files; tests/bench/README.md). So: each file gets its
// mode and mtime; the data of all of them reaches the disk (fsync for one
// file, otherwise one syncfs per filesystem they are on); each is renamed
// over its target; each directory is fsynced once. The crash guarantee is
// commit()'s: a target holds the old file or the complete new one. Returns
// one status per item, in order. An item that failed before its rename is
// still a partial file; one that was renamed is inert whatever follows.
std::vector<status> commit_together(std::span<const commit_item> items, const keep_alive_fn& keep_alive = {});

}  // namespace ftsync::store
