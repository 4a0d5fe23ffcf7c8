// open_partial() and partial_file: a temp file beside the target that is
// written, fsync'ed and renamed over the target (atomic replace, D3/D7).
#include <ftsync/store/root.hpp>

#include "store/file_io.hpp"
#include "store/partial_name.hpp"
#include "store/partial_state.hpp"
#include "store/resolve.hpp"
#include "store/sys_error.hpp"
#include "store/unique_fd.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <limits>

namespace ftsync::store {

std::uint64_t fnv1a_64(std::string_view data) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (const char c : data) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  return h;
}

std::string partial_name_for(std::string_view final_name) {
  static constexpr char k_hex[] = "0123456789abcdef";
  std::uint64_t h = fnv1a_64(final_name);
  std::string hex(16, '0');
  for (int i = 15; i >= 0; --i) {
    hex[static_cast<std::size_t>(i)] = k_hex[h & 0xf];
    h >>= 4;
  }
  return ".ftsync." + hex + ".part";
}

bool is_partial_name(std::string_view name) noexcept {
  constexpr std::string_view prefix = ".ftsync.", suffix = ".part";
  if (name.size() != prefix.size() + 16 + suffix.size()) return false;
  if (name.substr(0, prefix.size()) != prefix) return false;
  if (name.substr(prefix.size() + 16) != suffix) return false;
  for (const char c : name.substr(prefix.size(), 16))
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

namespace {

error inert_error() {
  return make_error(errc::internal, "partial file used after commit, discard or move");
}

}  // namespace

result<partial_file> root::open_partial(const rel_path& target) {
  if (target.is_root()) return make_error(errc::is_a_directory, "the root is a directory");
  auto parent = open_parent(m_fd, target, dir_access::readable);
  if (!parent) return std::move(parent).err();
  const int dfd = parent->fd.get();
  struct stat st {};
  if (::fstatat(dfd, parent->name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
    return make_error(errc::is_a_directory, "'" + target.str() + "' is a directory");

  auto s = std::make_unique<partial_file::state>();
  s->temp_name = partial_name_for(parent->name);
  s->final_name = parent->name;
  s->shown = target.str();
  const char* temp = s->temp_name.c_str();

  // Something other than a plain file under our reserved name (a symlink,
  // FIFO, device, or a hard link to a file elsewhere whose inode we would
  // write into) was not made by ftsync: drop it, never open it.
  if (::fstatat(dfd, temp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
      (!S_ISREG(st.st_mode) || st.st_nlink != 1)) {
    if (S_ISDIR(st.st_mode))
      return make_error(errc::is_a_directory,
                        "temp path for '" + target.str() + "' is a directory");
    if (::unlinkat(dfd, temp, 0) != 0 && errno != ENOENT)
      return sys_error(errno, "cannot remove stale temp file for", target.str());
  }
  s->file.reset(::openat(dfd, temp, O_RDWR | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0600));
  if (!s->file.valid()) return sys_error(errno, "cannot open temp file for", target.str());
  // Re-checked on the fd: whatever was swapped in after the lstat is refused.
  if (::fstat(s->file.get(), &st) != 0) return sys_error(errno, "cannot stat temp file for", target.str());
  if (!S_ISREG(st.st_mode) || st.st_nlink != 1)
    return make_error(errc::not_regular_file,
                      "temp file for '" + target.str() + "' changed while being opened");
  if (::flock(s->file.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK)
      return make_error(errc::busy, "'" + target.str() + "' is being written by another transfer");
    return sys_error(errno, "cannot lock temp file for", target.str());
  }
  s->dir = std::move(parent->fd);
  return partial_file(std::move(s));
}

partial_file::partial_file(std::unique_ptr<state> s) : m_state(std::move(s)) {}
int partial_file::file_fd() const noexcept { return m_state ? m_state->file.get() : -1; }
const std::string& partial_file::shown() const noexcept {
  static const std::string none;
  return m_state ? m_state->shown : none;
}
partial_file::partial_file(partial_file&&) noexcept = default;
partial_file& partial_file::operator=(partial_file&&) noexcept = default;
partial_file::~partial_file() = default;

std::uint64_t partial_file::existing_size() const {
  if (!m_state) return 0;
  struct stat st {};
  if (::fstat(m_state->file.get(), &st) != 0) return 0;
  return static_cast<std::uint64_t>(st.st_size);
}

result<std::size_t> partial_file::read_at(std::uint64_t offset, std::span<byte> out) const {
  if (!m_state) return inert_error();
  return pread_full(m_state->file.get(), offset, out, m_state->shown);
}

status partial_file::truncate(std::uint64_t size) {
  if (!m_state) return inert_error();
  if (size > static_cast<std::uint64_t>(std::numeric_limits<off_t>::max()))
    return make_error(errc::invalid_argument, "truncate size out of range");
  if (::ftruncate(m_state->file.get(), static_cast<off_t>(size)) != 0)
    return sys_error(errno, "cannot truncate temp file for", m_state->shown);
  return {};
}

status partial_file::write_at(std::uint64_t offset, byte_view data) {
  if (!m_state) return inert_error();
  return pwrite_full(m_state->file.get(), offset, data, m_state->shown);
}

status partial_file::commit(std::int64_t mtime_ns, std::uint32_t mode, const keep_alive_fn& keep_alive) {
  const commit_item one{this, mtime_ns, mode};
  return commit_together({&one, 1}, keep_alive).front();
}

status partial_file::discard() {
  if (!m_state) return inert_error();
  auto s = std::move(m_state);  // inert from here on, even on error
  // Unlink only if the name still refers to our (locked) inode.
  struct stat mine {}, named {};
  if (::fstat(s->file.get(), &mine) != 0) return sys_error(errno, "cannot stat temp file for", s->shown);
  if (::fstatat(s->dir.get(), s->temp_name.c_str(), &named, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return {};
    return sys_error(errno, "cannot stat temp file for", s->shown);
  }
  if (named.st_dev != mine.st_dev || named.st_ino != mine.st_ino) return {};
  if (::unlinkat(s->dir.get(), s->temp_name.c_str(), 0) != 0 && errno != ENOENT)
    return sys_error(errno, "cannot remove temp file for", s->shown);
  return {};
}

}  // namespace ftsync::store
