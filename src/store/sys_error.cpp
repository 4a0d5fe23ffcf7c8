#include "store/sys_error.hpp"

#include <ftsync/util/log.hpp>

#include <cerrno>
#include <string>
#include <system_error>

namespace ftsync::store {

errc errc_from_errno(int err) noexcept {
  switch (err) {
    case ENOENT: return errc::not_found;
    case EEXIST: return errc::already_exists;
    case ENOTDIR: return errc::not_a_directory;
    case EISDIR: return errc::is_a_directory;
    case ENOTEMPTY: return errc::not_empty;
    case EACCES:
    case EPERM: return errc::permission_denied;
    case ENOSPC:
    case EDQUOT: return errc::no_space;
    case ELOOP:
    case EXDEV: return errc::path_escapes_root;
    default: return errc::io;
  }
}

error sys_error(errc code, int err, std::string_view what, std::string_view path) {
  std::string msg(what);
  msg += " '";
  msg += escape_for_log(path);
  msg += "': ";
  // std::generic_category().message() is thread-safe, unlike strerror().
  msg += std::generic_category().message(err);
  return make_error(code, std::move(msg));
}

error sys_error(int err, std::string_view what, std::string_view path) {
  return sys_error(errc_from_errno(err), err, what, path);
}

error hard_linked_error(const rel_path& path) {
  return make_error(errc::not_regular_file, "'" + escape_for_log(path.str()) +
                                                "' has other hard links (perhaps outside the root): its mode and "
                                                "mtime are left alone");
}

file_kind kind_from_mode(mode_t mode) noexcept {
  if (S_ISREG(mode)) return file_kind::regular;
  if (S_ISDIR(mode)) return file_kind::directory;
  if (S_ISLNK(mode)) return file_kind::symlink;
  return file_kind::other;
}

file_info info_from_stat(const struct stat& st, std::string_view name) {
  file_info info;
  info.name = std::string(name);
  info.kind = kind_from_mode(st.st_mode);
  info.size = info.kind == file_kind::regular ? static_cast<std::uint64_t>(st.st_size) : 0;
  info.mtime_ns = to_ns(st.st_mtim);
  info.mode = static_cast<std::uint32_t>(st.st_mode & 07777);
  info.inode = static_cast<std::uint64_t>(st.st_ino);
  info.ctime_ns = to_ns(st.st_ctim);
  info.links = static_cast<std::uint64_t>(st.st_nlink);
  return info;
}

std::int64_t to_ns(const struct timespec& ts) noexcept {
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

struct timespec from_ns(std::int64_t ns) noexcept {
  std::int64_t sec = ns / 1'000'000'000;
  std::int64_t rem = ns % 1'000'000'000;
  if (rem < 0) {
    rem += 1'000'000'000;
    --sec;
  }
  struct timespec ts {};
  ts.tv_sec = static_cast<time_t>(sec);
  ts.tv_nsec = static_cast<long>(rem);
  return ts;
}

}  // namespace ftsync::store
