#pragma once
// Confined resolution of directories beneath the root's fd (research/security.md
// §1.7, rows D2/D4). Only directories are resolved here; the final component
// of every operation is then acted on with an *at() call on the parent's fd
// and AT_SYMLINK_NOFOLLOW / O_NOFOLLOW, so nothing swapped in after the
// resolution can redirect it.
//
// Two strategies, equally strict:
//   - openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS),
//     Linux >= 5.6: one syscall, the kernel refuses every symlink and "..";
//   - a component walk: openat(O_NOFOLLOW | O_DIRECTORY) one name at a time,
//     each relative to the fd of the previous one (what rsync 3.4.0's
//     secure_relative_open() does on kernels without openat2).
// In automatic mode openat2 is used until it returns ENOSYS (old kernel) once;
// EPERM (older container seccomp profiles) falls back for that call only.
#include "store/unique_fd.hpp"

#include <ftsync/util/rel_path.hpp>
#include <ftsync/util/result.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace ftsync::store {

enum class resolve_strategy : int {
  automatic,       // openat2, component walk when the kernel lacks it
  openat2,         // openat2 only (errc::unsupported when the kernel lacks it)
  component_walk,  // always the O_NOFOLLOW walk (tests of the fallback)
};

// Process-wide; for tests. Thread-safe (an atomic), but tests set it before
// starting threads.
void set_resolve_strategy(resolve_strategy s) noexcept;
resolve_strategy get_resolve_strategy() noexcept;

// True when this kernel implements openat2 (probed once).
bool openat2_supported() noexcept;

// How many resolutions each strategy performed, so a test can prove the
// strategy it asked for really ran.
struct resolve_counters {
  std::uint64_t openat2 = 0;
  std::uint64_t component_walk = 0;
};
resolve_counters get_resolve_counters() noexcept;

enum class dir_access {
  path_only,  // O_PATH: enough for *at() calls, needs no read permission
  readable,   // O_RDONLY: needed to list entries and to fsync the directory
};

// "." for the root, the path otherwise: what error messages show.
std::string shown_path(const rel_path& path);

// The error every refused symlink or escape produces.
error escape_error(std::string_view shown);

// Opens directory `dir` beneath `root_fd`. A symlink anywhere in `dir`
// (including its last component) gives errc::path_escapes_root.
result<unique_fd> open_dir_beneath(int root_fd, const rel_path& dir, dir_access access);

struct parent_dir {
  unique_fd fd;
  std::string name;  // the final component of the path, to pass to *at()
};
// Opens the parent of `path` (which must not be the root: errc::invalid_argument).
result<parent_dir> open_parent(int root_fd, const rel_path& path, dir_access access);

// One step down from an already confined directory fd, never following a
// symlink (errc::path_escapes_root). `shown` names the child in messages.
result<unique_fd> open_child_dir(int dir_fd, std::string_view name, dir_access access,
                                 std::string_view shown);

}  // namespace ftsync::store
