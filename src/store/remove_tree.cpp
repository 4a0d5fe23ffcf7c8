// remove_tree(): recursive delete through directory fds. A symlink is
// unlinked as an entry; its target, inside or outside the root, is untouched.
#include <ftsync/store/root.hpp>

#include "store/dir_entries.hpp"
#include "store/resolve.hpp"
#include "store/sys_error.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace ftsync::store {
namespace {

status remove_entry(int dir_fd, const std::string& name, const std::string& shown, int depth) {
  struct stat st {};
  if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    return sys_error(errno, "cannot stat", shown);
  if (!S_ISDIR(st.st_mode)) {
    if (::unlinkat(dir_fd, name.c_str(), 0) != 0) return sys_error(errno, "cannot remove", shown);
    return {};
  }
  if (depth >= k_max_depth)
    return make_error(errc::too_deep, "'" + shown + "' is nested more than 256 levels deep");
  // O_NOFOLLOW: if the directory was swapped for a symlink since the lstat,
  // this fails instead of emptying the link's target.
  auto child = open_child_dir(dir_fd, name, dir_access::readable, shown);
  if (!child) return std::move(child).err();
  auto names = read_dir_names(child->get(), shown);
  if (!names) return std::move(names).err();
  for (const auto& n : *names) FTSYNC_TRY(remove_entry(child->get(), n, shown + "/" + n, depth + 1));
  if (::unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) != 0)
    return sys_error(errno, "cannot remove directory", shown);
  return {};
}

}  // namespace

status root::remove_tree(const rel_path& path) {
  auto parent = open_parent(m_fd, path, dir_access::path_only);
  if (!parent) return std::move(parent).err();
  return remove_entry(parent->fd.get(), parent->name, path.str(), 0);
}

}  // namespace ftsync::store
