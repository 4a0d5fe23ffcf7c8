#include "store/resolve.hpp"

#include "store/sys_error.hpp"

#include <ftsync/util/log.hpp>

#include <fcntl.h>
#include <linux/openat2.h>  // struct open_how, RESOLVE_*: glibc 2.36 has no wrapper
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

namespace ftsync::store {
namespace {

std::atomic<int> g_strategy{static_cast<int>(resolve_strategy::automatic)};
// 0 unknown, 1 present, 2 missing (ENOSYS seen).
std::atomic<int> g_openat2_state{0};
std::atomic<std::uint64_t> g_openat2_count{0};
std::atomic<std::uint64_t> g_walk_count{0};

// openat2 may return EAGAIN when it cannot prove a ".." stayed beneath the
// root during a concurrent rename; our paths hold no "..", so a retry or two
// settles it. 8 bounds the loop against a hostile rename storm.
constexpr int k_openat2_attempts = 8;

int access_flags(dir_access access) noexcept {
  return (access == dir_access::readable ? O_RDONLY : O_PATH) | O_DIRECTORY | O_CLOEXEC;
}

// Returns the fd, or -errno.
int try_openat2(int root_fd, const rel_path& dir, int flags) noexcept {
  struct open_how how {};
  how.flags = static_cast<std::uint64_t>(flags);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  const char* p = dir.is_root() ? "." : dir.str().c_str();
  int err = 0;
  for (int i = 0; i < k_openat2_attempts; ++i) {
    const long r = ::syscall(SYS_openat2, root_fd, p, &how, sizeof how);
    if (r >= 0) return static_cast<int>(r);
    err = errno;
    if (err != EAGAIN && err != EINTR) break;
  }
  return -err;
}

result<unique_fd> walk_beneath(int root_fd, const rel_path& dir, dir_access access) {
  g_walk_count.fetch_add(1, std::memory_order_relaxed);
  if (dir.is_root()) {
    const int fd = ::openat(root_fd, ".", access_flags(access));
    if (fd < 0) return sys_error(errno, "cannot open directory", ".");
    return unique_fd(fd);
  }
  const auto comps = dir.components();
  unique_fd cur;
  std::string sofar;
  for (std::size_t i = 0; i < comps.size(); ++i) {
    if (!sofar.empty()) sofar += '/';
    sofar += comps[i];
    // Intermediate components need no read permission, only search.
    const auto step_access = i + 1 == comps.size() ? access : dir_access::path_only;
    auto next = open_child_dir(cur.valid() ? cur.get() : root_fd, comps[i], step_access, sofar);
    if (!next) return std::move(next).err();
    cur = std::move(next.value());
  }
  return cur;
}

}  // namespace

void set_resolve_strategy(resolve_strategy s) noexcept {
  g_strategy.store(static_cast<int>(s), std::memory_order_relaxed);
}

resolve_strategy get_resolve_strategy() noexcept {
  return static_cast<resolve_strategy>(g_strategy.load(std::memory_order_relaxed));
}

bool openat2_supported() noexcept {
  int state = g_openat2_state.load(std::memory_order_relaxed);
  if (state == 0) {
    struct open_how how {};
    how.flags = O_PATH | O_DIRECTORY | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH;
    const long r = ::syscall(SYS_openat2, AT_FDCWD, ".", &how, sizeof how);
    if (r >= 0) ::close(static_cast<int>(r));
    state = (r < 0 && errno == ENOSYS) ? 2 : 1;
    g_openat2_state.store(state, std::memory_order_relaxed);
  }
  return state == 1;
}

resolve_counters get_resolve_counters() noexcept {
  return {g_openat2_count.load(std::memory_order_relaxed),
          g_walk_count.load(std::memory_order_relaxed)};
}

std::string shown_path(const rel_path& path) { return path.is_root() ? "." : path.str(); }

error escape_error(std::string_view shown) {
  std::string msg = "refusing '";
  msg += escape_for_log(shown);
  msg += "': the path goes through a symbolic link or leaves the root";
  return make_error(errc::path_escapes_root, std::move(msg));
}

result<unique_fd> open_child_dir(int dir_fd, std::string_view name, dir_access access,
                                 std::string_view shown) {
  const std::string n(name);
  const int fd = ::openat(dir_fd, n.c_str(), access_flags(access) | O_NOFOLLOW);
  if (fd >= 0) return unique_fd(fd);
  const int err = errno;
  // O_NOFOLLOW on a symlink gives ELOOP, or ENOTDIR when O_DIRECTORY is
  // checked first. An lstat tells a symlink from a plain file, for the error
  // code only: the open already failed, so this cannot widen access. A
  // directory seen now means a symlink was swapped back for one since the
  // open: that too is reported as the escape it was.
  if (err == ELOOP) return escape_error(shown);
  if (err == ENOTDIR) {
    struct stat st {};
    if (::fstatat(dir_fd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        (S_ISLNK(st.st_mode) || S_ISDIR(st.st_mode)))
      return escape_error(shown);
  }
  return sys_error(err, "cannot open directory", shown);
}

result<unique_fd> open_dir_beneath(int root_fd, const rel_path& dir, dir_access access) {
  const auto strategy = get_resolve_strategy();
  if (strategy == resolve_strategy::component_walk) return walk_beneath(root_fd, dir, access);
  if (strategy == resolve_strategy::automatic && g_openat2_state.load(std::memory_order_relaxed) == 2)
    return walk_beneath(root_fd, dir, access);

  g_openat2_count.fetch_add(1, std::memory_order_relaxed);
  const int r = try_openat2(root_fd, dir, access_flags(access));
  if (r >= 0) return unique_fd(r);
  const int err = -r;
  if (err == ENOSYS) {
    g_openat2_state.store(2, std::memory_order_relaxed);
    if (strategy == resolve_strategy::openat2)
      return make_error(errc::unsupported, "openat2 is not available on this kernel");
    return walk_beneath(root_fd, dir, access);
  }
  // A seccomp filter may deny an unknown syscall with EPERM; the walk then
  // either works or reports the real permission error.
  if (err == EPERM && strategy == resolve_strategy::automatic) return walk_beneath(root_fd, dir, access);
  // RESOLVE_NO_SYMLINKS reports any symlink as ELOOP; RESOLVE_BENEATH reports
  // an escape as EXDEV.
  if (err == ELOOP || err == EXDEV) return escape_error(shown_path(dir));
  return sys_error(err, "cannot open directory", shown_path(dir));
}

result<parent_dir> open_parent(int root_fd, const rel_path& path, dir_access access) {
  if (path.is_root())
    return make_error(errc::invalid_argument, "the root itself cannot be the target of this operation");
  auto fd = open_dir_beneath(root_fd, path.parent(), access);
  if (!fd) {
    // Name the path the caller asked for, not just the parent that failed.
    if (fd.code() == errc::path_escapes_root) return escape_error(path.str());
    return std::move(fd).err();
  }
  return parent_dir{std::move(fd.value()), std::string(path.name())};
}

}  // namespace ftsync::store
