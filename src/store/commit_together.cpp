// commit_together() and so partial_file::commit(): finished partial files
// become their targets, data first, names second (D3/D7).
#include <ftsync/store/root.hpp>

#include "store/partial_state.hpp"
#include "store/sys_error.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <map>
#include <utility>

namespace ftsync::store {

namespace {

status set_mode_and_mtime(const partial_file::state& s, std::int64_t mtime_ns, std::uint32_t mode) {
  const int fd = s.file.get();
  if (::fchmod(fd, static_cast<mode_t>(mode & 0777)) != 0) return sys_error(errno, "cannot chmod temp file for", s.shown);
  struct timespec times[2];
  times[0].tv_sec = 0;
  times[0].tv_nsec = UTIME_NOW;
  times[1] = from_ns(mtime_ns);
  if (::futimens(fd, times) != 0) return sys_error(errno, "cannot set mtime of temp file for", s.shown);
  return {};
}

// Makes the data of `fds` durable: an fsync for one file; for more, one
// syncfs per filesystem, which writes every file's data and inode with one
// flush of the disk cache instead of one per file. Returns 0 or an errno.
int flush_data(const std::vector<int>& fds) {
  if (fds.size() == 1) return ::fsync(fds.front()) == 0 ? 0 : errno;
  std::map<dev_t, int> one_per_filesystem;
  for (const int fd : fds) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return errno;
    one_per_filesystem.emplace(st.st_dev, fd);
  }
  for (const auto& [dev, fd] : one_per_filesystem)
    if (::syncfs(fd) != 0) return errno;
  return 0;
}

// One directory, however many of the items it holds.
struct dir_key {
  dev_t dev;
  ino_t ino;
  bool operator<(const dir_key& o) const { return dev != o.dev ? dev < o.dev : ino < o.ino; }
};

}  // namespace

std::vector<status> commit_together(std::span<const commit_item> items, const keep_alive_fn& keep_alive) {
  std::vector<status> out(items.size());
  std::vector<std::size_t> ready;
  for (std::size_t i = 0; i < items.size(); ++i) {
    auto& state = items[i].file->m_state;
    if (!state) {
      out[i] = make_error(errc::internal, "partial file used after commit, discard or move");
      continue;
    }
    out[i] = set_mode_and_mtime(*state, items[i].mtime_ns, items[i].mode);
    if (out[i]) ready.push_back(i);
  }
  if (ready.empty()) return out;

  // Data reaches the disk before any name does: after a crash each target
  // is the old file or the complete new one (ext4 and xfs order only
  // metadata). Runs beside keep_alive: flushing can take longer than a peer waits.
  std::vector<int> fds;
  for (const std::size_t i : ready) fds.push_back(items[i].file->m_state->file.get());
  const int flushed = run_keeping_alive([&fds] { return flush_data(fds); }, keep_alive);
  if (flushed != 0) {
    for (const std::size_t i : ready) out[i] = sys_error(flushed, "cannot fsync temp file for", items[i].file->m_state->shown);
    return out;
  }

  // renameat replaces whatever entry holds the final name, including a
  // symlink, which is replaced rather than written through (D3). A renamed
  // item's state moves here: the partial_file is inert from then on.
  std::map<dir_key, std::vector<std::pair<std::size_t, std::unique_ptr<partial_file::state>>>> renamed;
  for (const std::size_t i : ready) {
    auto& state = items[i].file->m_state;
    if (::renameat(state->dir.get(), state->temp_name.c_str(), state->dir.get(), state->final_name.c_str()) != 0) {
      out[i] = sys_error(errno, "cannot move temp file over", state->shown);
      continue;
    }
    struct stat st {};
    // A directory that cannot be told apart is fsynced on its own (device 0 is no filesystem's).
    const dir_key key = ::fstat(state->dir.get(), &st) == 0 ? dir_key{st.st_dev, st.st_ino} : dir_key{0, static_cast<ino_t>(i)};
    renamed[key].emplace_back(i, std::move(state));
  }
  for (auto& [key, entries] : renamed) {
    const auto& first = *entries.front().second;
    if (::fsync(first.dir.get()) == 0) continue;
    const int err = errno;
    for (auto& [i, state] : entries) out[i] = sys_error(err, "cannot fsync directory of", state->shown);
  }
  return out;
}

}  // namespace ftsync::store
