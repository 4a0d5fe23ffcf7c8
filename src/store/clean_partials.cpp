// clean_partials(): removes partial files left behind by transfers that will
// not resume (crash, peer gone), recursively and without following symlinks.
#include <ftsync/store/root.hpp>

#include "store/dir_entries.hpp"
#include "store/partial_name.hpp"
#include "store/resolve.hpp"
#include "store/sys_error.hpp"
#include "store/unique_fd.hpp"

#include <ftsync/util/clock.hpp>
#include <ftsync/util/rel_path.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <limits>

namespace ftsync::store {
namespace {

// Removes `name` only when no transfer holds its lock: a slow transfer that
// has not written for max_age seconds keeps its data.
status remove_if_unlocked(int dir_fd, const std::string& name, const struct stat& seen,
                          const std::string& shown) {
  unique_fd fd(::openat(dir_fd, name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd.valid()) {
    if (errno == ENOENT || errno == ELOOP) return {};  // gone or swapped for a link
    return sys_error(errno, "cannot open partial file", shown);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return sys_error(errno, "cannot stat partial file", shown);
  if (st.st_dev != seen.st_dev || st.st_ino != seen.st_ino) return {};  // replaced meanwhile
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) return {};
    return sys_error(errno, "cannot lock partial file", shown);
  }
  if (::unlinkat(dir_fd, name.c_str(), 0) != 0 && errno != ENOENT)
    return sys_error(errno, "cannot remove partial file", shown);
  return {};
}

status clean_dir(int dir_fd, const std::string& shown, int depth, std::int64_t cutoff_ns) {
  if (depth > k_max_depth)
    return make_error(errc::too_deep, "'" + shown + "' is nested more than 256 levels deep");
  auto names = read_dir_typed(dir_fd, shown);
  if (!names) return std::move(names).err();
  for (const auto& [name, type] : *names) {
    // Only directories and partial files matter: a sweep at start-up over a
    // 50,000-file folder must not lstat every file.
    if (type != DT_DIR && type != DT_UNKNOWN && !is_partial_name(name)) continue;
    const std::string child = shown == "." ? name : shown + "/" + name;
    struct stat st {};
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;
      return sys_error(errno, "cannot stat", child);
    }
    if (S_ISDIR(st.st_mode)) {
      // ftsync's own reserved directories hold state, not partial files.
      if (is_reserved_name(name)) continue;
      auto sub = open_child_dir(dir_fd, name, dir_access::readable, child);
      if (!sub) {
        const auto code = sub.code();
        if (code == errc::not_found || code == errc::not_a_directory ||
            code == errc::path_escapes_root)
          continue;  // changed since the lstat
        return std::move(sub).err();
      }
      FTSYNC_TRY(clean_dir(sub->get(), child, depth + 1, cutoff_ns));
    } else if (S_ISREG(st.st_mode) && is_partial_name(name) && to_ns(st.st_mtim) < cutoff_ns) {
      FTSYNC_TRY(remove_if_unlocked(dir_fd, name, st, child));
    }
  }
  return {};
}

}  // namespace

status root::clean_partials(const rel_path& dir, std::int64_t max_age_s) {
  if (max_age_s < 0) return make_error(errc::invalid_argument, "negative maximum age");
  constexpr std::int64_t ns_per_s = 1'000'000'000;
  const std::int64_t now = wall_now_ns();
  // An age too large to express (> 292 years in ns) removes nothing.
  std::int64_t age_ns = 0;
  std::int64_t cutoff = 0;
  if (__builtin_mul_overflow(max_age_s, ns_per_s, &age_ns) ||
      __builtin_sub_overflow(now, age_ns, &cutoff))
    cutoff = std::numeric_limits<std::int64_t>::min();
  auto fd = open_dir_beneath(m_fd, dir, dir_access::readable);
  if (!fd) return std::move(fd).err();
  return clean_dir(fd->get(), shown_path(dir), 1, cutoff);
}

}  // namespace ftsync::store
