// Symlinks as folder sync sees them: a name and a target text. Read and
// written through the parent's confined fd, never followed.
#include <ftsync/store/root.hpp>

#include "store/partial_name.hpp"
#include "store/resolve.hpp"
#include "store/sys_error.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <climits>

namespace ftsync::store {

result<std::string> root::read_link(const rel_path& path) const {
  if (path.is_root()) return make_error(errc::not_regular_file, "the root is not a symlink");
  auto parent = open_parent(m_fd, path, dir_access::path_only);
  if (!parent) return std::move(parent).err();
  std::string out(PATH_MAX, '\0');
  const ssize_t n = ::readlinkat(parent->fd.get(), parent->name.c_str(), out.data(), out.size());
  if (n < 0) {
    const int err = errno;
    if (err == EINVAL) return make_error(errc::not_regular_file, "'" + path.str() + "' is not a symlink");
    return sys_error(err, "cannot read symlink", path.str());
  }
  // PATH_MAX bytes read means it may have been cut: Linux targets are shorter.
  if (static_cast<std::size_t>(n) >= out.size())
    return make_error(errc::too_large, "symlink '" + path.str() + "' has a target of PATH_MAX bytes or more");
  out.resize(static_cast<std::size_t>(n));
  return out;
}

status root::make_symlink(const rel_path& path, std::string_view target) {
  if (path.is_root()) return make_error(errc::invalid_argument, "the root cannot become a symlink");
  if (target.empty() || target.size() >= PATH_MAX || target.find('\0') != std::string_view::npos)
    return make_error(errc::invalid_argument,
                      "symlink target for '" + path.str() + "' is empty, too long or holds NUL");
  auto parent = open_parent(m_fd, path, dir_access::path_only);
  if (!parent) return std::move(parent).err();
  // Not the ".part" name: an upload of a file to the same name may hold that.
  std::string temp = partial_name_for(parent->name);
  temp.replace(temp.size() - 5, 5, ".link");
  const std::string text(target);
  const int dir = parent->fd.get();
  if (::symlinkat(text.c_str(), dir, temp.c_str()) != 0) {
    if (errno != EEXIST) return sys_error(errno, "cannot create symlink", path.str());
    // Left by a crash between the two calls below: ours to replace.
    if (::unlinkat(dir, temp.c_str(), 0) != 0 || ::symlinkat(text.c_str(), dir, temp.c_str()) != 0)
      return sys_error(errno, "cannot create symlink", path.str());
  }
  if (::renameat(dir, temp.c_str(), dir, parent->name.c_str()) != 0) {
    const int err = errno;
    (void)::unlinkat(dir, temp.c_str(), 0);
    if (err == EISDIR || err == ENOTEMPTY || err == EEXIST)
      return sys_error(errc::is_a_directory, err, "cannot replace a directory by a symlink at", path.str());
    return sys_error(err, "cannot create symlink", path.str());
  }
  return {};
}

}  // namespace ftsync::store
