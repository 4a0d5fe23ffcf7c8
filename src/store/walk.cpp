// list() and walk(): directory reading beneath the root, never following a
// symlink.
#include <ftsync/store/root.hpp>

#include "store/dir_entries.hpp"
#include "store/resolve.hpp"

#include <ftsync/util/log.hpp>

namespace ftsync::store {
namespace {

status walk_dir(int dir_fd, const rel_path& path, int depth, std::vector<walk_entry>& out) {
  if (depth > k_max_depth)
    return make_error(errc::too_deep, "'" + path.str() + "' is nested more than 256 levels deep");
  auto entries = list_entries(dir_fd, shown_path(path));
  if (!entries) return std::move(entries).err();
  for (auto& info : *entries) {
    auto child = path.join(info.name);
    if (!child) {  // longer than 4096 bytes: no rel_path can name it
      log::debug("skipping '" + escape_for_log(path.str() + "/" + info.name) + "': " +
                 child.err().message);
      continue;
    }
    const bool is_dir = info.kind == file_kind::directory;
    out.push_back(walk_entry{child.value(), std::move(info)});
    if (!is_dir) continue;
    auto child_fd =
        open_child_dir(dir_fd, child->name(), dir_access::readable, child->str());
    if (!child_fd) {
      // Removed or replaced (by a file or a symlink) since it was listed: it
      // is reported as it was seen and not descended into.
      const auto code = child_fd.code();
      if (code == errc::not_found || code == errc::not_a_directory ||
          code == errc::path_escapes_root)
        continue;
      return std::move(child_fd).err();
    }
    FTSYNC_TRY(walk_dir(child_fd->get(), *child, depth + 1, out));
  }
  return {};
}

}  // namespace

result<std::vector<file_info>> root::list(const rel_path& dir) const {
  auto fd = open_dir_beneath(m_fd, dir, dir_access::readable);
  if (!fd) return std::move(fd).err();
  return list_entries(fd->get(), shown_path(dir));
}

result<std::vector<walk_entry>> root::walk(const rel_path& start) const {
  auto top = stat(start);
  if (!top) return std::move(top).err();
  std::vector<walk_entry> out;
  const bool is_dir = top->kind == file_kind::directory;
  out.push_back(walk_entry{start, std::move(top.value())});
  if (!is_dir) return out;
  auto fd = open_dir_beneath(m_fd, start, dir_access::readable);
  if (!fd) return std::move(fd).err();
  FTSYNC_TRY(walk_dir(fd->get(), start, 1, out));
  return out;
}

}  // namespace ftsync::store
