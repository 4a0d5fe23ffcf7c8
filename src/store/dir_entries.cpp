#include "store/dir_entries.hpp"

#include "store/sys_error.hpp"

#include <ftsync/util/log.hpp>
#include <ftsync/util/rel_path.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>

namespace ftsync::store {
namespace {

struct dir_closer {
  void operator()(DIR* d) const noexcept { ::closedir(d); }
};

}  // namespace

result<std::vector<dir_name>> read_dir_typed(int dir_fd, std::string_view shown) {
  // fdopendir takes ownership of its fd and shares the file offset, so it
  // gets its own duplicate, rewound to the start.
  const int dup_fd = ::fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) return sys_error(errno, "cannot list", shown);
  std::unique_ptr<DIR, dir_closer> dir(::fdopendir(dup_fd));
  if (!dir) {
    const int err = errno;
    ::close(dup_fd);
    return sys_error(err, "cannot list", shown);
  }
  ::rewinddir(dir.get());
  std::vector<dir_name> names;
  for (;;) {
    errno = 0;
    const dirent* e = ::readdir(dir.get());
    if (e == nullptr) {
      if (errno != 0) return sys_error(errno, "cannot list", shown);
      break;
    }
    const std::string_view name = e->d_name;
    if (name == "." || name == "..") continue;
    names.push_back(dir_name{std::string(name), e->d_type});
  }
  return names;
}

result<std::vector<std::string>> read_dir_names(int dir_fd, std::string_view shown) {
  auto typed = read_dir_typed(dir_fd, shown);
  if (!typed) return std::move(typed).err();
  std::vector<std::string> names;
  names.reserve(typed->size());
  for (auto& n : *typed) names.push_back(std::move(n.name));
  return names;
}

result<std::vector<file_info>> list_entries(int dir_fd, std::string_view shown) {
  auto names = read_dir_names(dir_fd, shown);
  if (!names) return std::move(names).err();
  std::vector<file_info> out;
  out.reserve(names->size());
  for (const auto& name : *names) {
    if (is_reserved_name(name)) continue;
    if (!validate_component(name)) {
      log::debug("skipping unrepresentable name '" + escape_for_log(name) + "' in '" +
                 escape_for_log(shown) + "'");
      continue;
    }
    struct stat st {};
    if (::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;  // removed since readdir
      return sys_error(errno, "cannot stat", std::string(shown) + "/" + name);
    }
    out.push_back(info_from_stat(st, name));
  }
  std::sort(out.begin(), out.end(),
            [](const file_info& a, const file_info& b) { return a.name < b.name; });
  return out;
}

}  // namespace ftsync::store
