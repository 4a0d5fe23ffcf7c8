// root: opening the root, metadata and namespace operations (stat, mkdir,
// remove, rename, set_mtime). Every final component is acted on through its
// confined parent's fd with *at() and no symlink following.
#include <ftsync/store/root.hpp>

#include "store/resolve.hpp"
#include "store/sys_error.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>
#include <utility>

namespace ftsync::store {

result<root> root::open(const std::filesystem::path& dir) {
  // The operator-named root is trusted (rsync SECURITY.md: "trust the
  // operator-named transfer root, and confine all resolution beneath it"),
  // so symlinks in `dir` itself are followed; nothing beneath it is.
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return sys_error(errno, "cannot open root directory", dir.native());
  std::error_code ec;
  auto location = std::filesystem::absolute(dir, ec);
  if (ec) location = dir;
  return root(fd, std::move(location));
}

result<root> root::open_or_create(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return sys_error(ec.value(), "cannot create root directory", dir.native());
  return open(dir);
}

root::root(root&& other) noexcept
    : m_fd(std::exchange(other.m_fd, -1)), m_location(std::move(other.m_location)) {}

root& root::operator=(root&& other) noexcept {
  if (this != &other) {
    if (m_fd >= 0) ::close(m_fd);
    m_fd = std::exchange(other.m_fd, -1);
    m_location = std::move(other.m_location);
  }
  return *this;
}

root::~root() {
  if (m_fd >= 0) ::close(m_fd);
}

result<file_info> root::stat(const rel_path& path) const {
  struct stat st {};
  if (path.is_root()) {
    if (::fstat(m_fd, &st) != 0) return sys_error(errno, "cannot stat", ".");
    return info_from_stat(st, "");
  }
  auto parent = open_parent(m_fd, path, dir_access::path_only);
  if (!parent) return std::move(parent).err();
  if (::fstatat(parent->fd.get(), parent->name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    return sys_error(errno, "cannot stat", path.str());
  return info_from_stat(st, parent->name);
}

status root::make_dir(const rel_path& path, bool parents, std::uint32_t mode) {
  const auto m = static_cast<mode_t>(mode & 07777);
  if (path.is_root()) {
    if (parents) return {};
    return make_error(errc::already_exists, "the root directory already exists");
  }
  if (!parents) {
    auto parent = open_parent(m_fd, path, dir_access::path_only);
    if (!parent) return std::move(parent).err();
    if (::mkdirat(parent->fd.get(), parent->name.c_str(), m) != 0)
      return sys_error(errno, "cannot create directory", path.str());
    return {};
  }
  // mkdir -p as a walk: each step is created and then entered relative to the
  // fd of the previous one with O_NOFOLLOW, so a symlink (pre-existing or
  // swapped in) is never entered. All created levels get `mode`.
  unique_fd cur;
  std::string sofar;
  for (const auto comp : path.components()) {
    if (!sofar.empty()) sofar += '/';
    sofar += comp;
    const int base = cur.valid() ? cur.get() : m_fd;
    const std::string name(comp);
    if (::mkdirat(base, name.c_str(), m) != 0 && errno != EEXIST)
      return sys_error(errno, "cannot create directory", sofar);
    auto next = open_child_dir(base, name, dir_access::path_only, sofar);
    if (!next) {
      if (next.code() == errc::not_a_directory)
        return make_error(errc::already_exists, "'" + sofar + "' exists and is not a directory");
      return std::move(next).err();
    }
    cur = std::move(next.value());
  }
  return {};
}

status root::remove_dir(const rel_path& path) {
  auto parent = open_parent(m_fd, path, dir_access::path_only);
  if (!parent) return std::move(parent).err();
  if (::unlinkat(parent->fd.get(), parent->name.c_str(), AT_REMOVEDIR) != 0) {
    const int err = errno;
    // POSIX allows EEXIST for a non-empty directory; Linux uses ENOTEMPTY.
    if (err == EEXIST) return sys_error(errc::not_empty, err, "cannot remove directory", path.str());
    return sys_error(err, "cannot remove directory", path.str());
  }
  return {};
}

status root::remove_file(const rel_path& path) {
  auto parent = open_parent(m_fd, path, dir_access::path_only);
  if (!parent) return std::move(parent).err();
  // unlinkat without AT_REMOVEDIR refuses directories (EISDIR) and removes a
  // symlink itself, never its target.
  if (::unlinkat(parent->fd.get(), parent->name.c_str(), 0) != 0)
    return sys_error(errno, "cannot remove", path.str());
  return {};
}

status root::rename(const rel_path& from, const rel_path& to) {
  if (from.is_root() || to.is_root())
    return make_error(errc::invalid_argument, "the root itself cannot be renamed or replaced");
  if (to != from && to.starts_with(from))
    return make_error(errc::invalid_argument,
                      "cannot move '" + from.str() + "' into its own subtree '" + to.str() + "'");
  auto src = open_parent(m_fd, from, dir_access::path_only);
  if (!src) return std::move(src).err();
  auto dst = open_parent(m_fd, to, dir_access::path_only);
  if (!dst) return std::move(dst).err();
  if (::renameat(src->fd.get(), src->name.c_str(), dst->fd.get(), dst->name.c_str()) != 0) {
    const int err = errno;
    const std::string shown = from.str() + "' -> '" + to.str();
    switch (err) {
      case EEXIST:  // POSIX's alternative to ENOTEMPTY
      case ENOTEMPTY: return sys_error(errc::not_empty, err, "cannot rename", shown);
      // The kernel's own check for a directory moved beneath itself.
      case EINVAL: return sys_error(errc::invalid_argument, err, "cannot rename", shown);
      // Here EXDEV means two filesystems inside the root, not an escape.
      case EXDEV: return sys_error(errc::io, err, "cannot rename", shown);
      default: return sys_error(err, "cannot rename", shown);
    }
  }
  return {};
}

status root::set_mtime(const rel_path& path, std::int64_t mtime_ns) {
  struct timespec times[2];
  times[0].tv_sec = 0;
  times[0].tv_nsec = UTIME_OMIT;  // leave atime alone
  times[1] = from_ns(mtime_ns);
  if (path.is_root()) {
    if (::futimens(m_fd, times) != 0) return sys_error(errno, "cannot set mtime of", ".");
    return {};
  }
  auto parent = open_parent(m_fd, path, dir_access::path_only);
  if (!parent) return std::move(parent).err();
  // Checked by name, then set by name: no peer request creates hard links,
  // and opening the file to set its times through the descriptor would
  // need read access that utimensat does not.
  struct stat st {};
  if (::fstatat(parent->fd.get(), parent->name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    return sys_error(errno, "cannot set mtime of", path.str());
  if (S_ISREG(st.st_mode) && st.st_nlink > 1) return hard_linked_error(path);
  if (::utimensat(parent->fd.get(), parent->name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
    return sys_error(errno, "cannot set mtime of", path.str());
  return {};
}

}  // namespace ftsync::store
