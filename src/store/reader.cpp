// open_read() and reader: reading a regular file beneath the root.
#include <ftsync/store/root.hpp>

#include "store/file_io.hpp"
#include "store/resolve.hpp"
#include "store/sys_error.hpp"
#include "store/unique_fd.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <utility>

namespace ftsync::store {
namespace {

// A final symlink is reported as not_regular_file, not path_escapes_root:
// the path itself was resolved beneath the root; what it names is simply not
// a file ftsync reads (errc.hpp: "symlink where a regular file was needed").
status require_regular(mode_t mode, const std::string& shown) {
  if (S_ISREG(mode)) return {};
  if (S_ISDIR(mode)) return make_error(errc::is_a_directory, "'" + shown + "' is a directory");
  if (S_ISLNK(mode))
    return make_error(errc::not_regular_file, "'" + shown + "' is a symbolic link");
  return make_error(errc::not_regular_file,
                    "'" + shown + "' is not a regular file (device, FIFO or socket)");
}

}  // namespace

result<reader> root::open_read(const rel_path& path) const {
  if (path.is_root()) return make_error(errc::is_a_directory, "the root is a directory");
  auto parent = open_parent(m_fd, path, dir_access::path_only);
  if (!parent) return std::move(parent).err();
  const int dfd = parent->fd.get();
  const char* name = parent->name.c_str();
  // Checked before the open so a device node is never opened at all (opening
  // some devices has side effects, e.g. a tape rewinding).
  struct stat st {};
  if (::fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
    return sys_error(errno, "cannot stat", path.str());
  FTSYNC_TRY(require_regular(st.st_mode, path.str()));
  // Checked again after the open, on the fd, for whatever was swapped in
  // between: O_NOFOLLOW refuses a symlink, O_NONBLOCK keeps a FIFO from
  // blocking the open, O_NOCTTY keeps a terminal from becoming ours.
  unique_fd fd(::openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd.valid()) {
    const int err = errno;
    if (err == ELOOP || err == ENXIO)  // a symlink, or a socket
      return sys_error(errc::not_regular_file, err, "cannot open", path.str());
    return sys_error(err, "cannot open", path.str());
  }
  if (::fstat(fd.get(), &st) != 0) return sys_error(errno, "cannot stat", path.str());
  FTSYNC_TRY(require_regular(st.st_mode, path.str()));
  const int fl = ::fcntl(fd.get(), F_GETFL);
  if (fl < 0 || ::fcntl(fd.get(), F_SETFL, fl & ~O_NONBLOCK) != 0)
    return sys_error(errno, "cannot set flags of", path.str());
  return reader(fd.release(), info_from_stat(st, parent->name));
}

reader::reader(reader&& other) noexcept
    : m_fd(std::exchange(other.m_fd, -1)), m_info(std::move(other.m_info)) {}

reader& reader::operator=(reader&& other) noexcept {
  if (this != &other) {
    if (m_fd >= 0) ::close(m_fd);
    m_fd = std::exchange(other.m_fd, -1);
    m_info = std::move(other.m_info);
  }
  return *this;
}

reader::~reader() {
  if (m_fd >= 0) ::close(m_fd);
}

result<std::size_t> reader::read_at(std::uint64_t offset, std::span<byte> out) const {
  if (m_fd < 0) return make_error(errc::internal, "read from a moved-from reader");
  return pread_full(m_fd, offset, out, m_info.name);
}

}  // namespace ftsync::store
