// Store operations the folder sync needs beyond the one-off commands:
// chmod without following symlinks, reading the reserved .ftsyncignore, and
// copying a range from another file of the root into a partial file.
#include <ftsync/store/root.hpp>

#include "store/file_io.hpp"
#include "store/resolve.hpp"
#include "store/sys_error.hpp"
#include "store/unique_fd.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <limits>

namespace ftsync::store {

status root::set_mode(const rel_path& path, std::uint32_t mode) {
  const auto m = static_cast<mode_t>(mode & 07777);
  if (path.is_root()) {
    if (::fchmod(m_fd, m) != 0) return sys_error(errno, "cannot chmod", ".");
    return {};
  }
  auto parent = open_parent(m_fd, path, dir_access::path_only);
  if (!parent) return std::move(parent).err();
  // fchmodat(2) has no working AT_SYMLINK_NOFOLLOW on Linux: open the entry
  // itself with O_NOFOLLOW (a symlink fails with ELOOP) and fchmod the fd.
  unique_fd fd(::openat(parent->fd.get(), parent->name.c_str(),
                        O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd.valid()) {
    const int err = errno;
    if (err == ELOOP) return sys_error(errc::not_regular_file, err, "cannot chmod", path.str());
    return sys_error(err, "cannot chmod", path.str());
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return sys_error(errno, "cannot stat", path.str());
  if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
    return make_error(errc::not_regular_file, "'" + path.str() + "' is not a file or directory");
  if (S_ISREG(st.st_mode) && st.st_nlink > 1) return hard_linked_error(path);
  if (::fchmod(fd.get(), m) != 0) return sys_error(errno, "cannot chmod", path.str());
  return {};
}

result<std::string> root::read_reserved(std::string_view name, std::size_t max_bytes) const {
  if (name.empty() || name.find('/') != std::string_view::npos || name == "." || name == "..")
    return make_error(errc::bad_path, "not a single file name");
  const std::string n(name);
  unique_fd fd(::openat(m_fd, n.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
  if (!fd.valid()) return sys_error(errno, "cannot open", n);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return sys_error(errno, "cannot stat", n);
  if (!S_ISREG(st.st_mode)) return make_error(errc::not_regular_file, "'" + n + "' is not a regular file");
  if (static_cast<std::uint64_t>(st.st_size) > max_bytes)
    return make_error(errc::too_large, "'" + n + "' is larger than " + std::to_string(max_bytes) + " bytes");
  std::string out(static_cast<std::size_t>(st.st_size), '\0');
  auto got = pread_full(fd.get(), 0, std::span<byte>(reinterpret_cast<byte*>(out.data()), out.size()), n);
  if (!got) return std::move(got).err();
  out.resize(*got);
  return out;
}

status partial_file::copy_from(const reader& src, std::uint64_t src_offset, std::uint64_t offset,
                               std::uint64_t length) {
  if (!m_state) return make_error(errc::internal, "partial file used after commit, discard or move");
  if (src.m_fd < 0) return make_error(errc::internal, "copy from a moved-from reader");
  constexpr auto off_max = static_cast<std::uint64_t>(std::numeric_limits<off_t>::max());
  if (src_offset > off_max - length || offset > off_max - length)
    return make_error(errc::invalid_argument, "copy range out of range");
  const int out_fd = file_fd();
  auto in_off = static_cast<off_t>(src_offset);
  auto out_off = static_cast<off_t>(offset);
  std::uint64_t left = length;
  while (left > 0) {
    const ssize_t n = ::copy_file_range(src.m_fd, &in_off, out_fd, &out_off, left, 0);
    if (n > 0) {
      left -= static_cast<std::uint64_t>(n);
      continue;
    }
    if (n == 0) return make_error(errc::io, "source file shrank during a local block copy");
    if (errno == EINTR) continue;
    if (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP || errno == EBADF) break;
    return sys_error(errno, "cannot copy a block into the temp file for", shown());
  }
  // Fallback (older kernels, some filesystems): through a bounded buffer.
  bytes buf(static_cast<std::size_t>(std::min<std::uint64_t>(left, 1 << 20)));
  while (left > 0) {
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(left, buf.size()));
    auto got = pread_full(src.m_fd, static_cast<std::uint64_t>(in_off), std::span<byte>(buf.data(), want),
                          src.m_info.name);
    if (!got) return std::move(got).err();
    if (*got != want) return make_error(errc::io, "source file shrank during a local block copy");
    FTSYNC_TRY(pwrite_full(out_fd, static_cast<std::uint64_t>(out_off), byte_view(buf.data(), want), shown()));
    in_off += static_cast<off_t>(want);
    out_off += static_cast<off_t>(want);
    left -= want;
  }
  return {};
}

}  // namespace ftsync::store
