#include <ftsync/store/watcher.hpp>

#include "store/resolve.hpp"
#include "store/sys_error.hpp"
#include "store/unique_fd.hpp"

#include <ftsync/util/log.hpp>

#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>

namespace ftsync::store {

namespace {
constexpr std::uint32_t k_mask = IN_CREATE | IN_DELETE | IN_MODIFY | IN_CLOSE_WRITE | IN_MOVED_FROM |
                                 IN_MOVED_TO | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR |
                                 IN_EXCL_UNLINK;
// No IN_DONT_FOLLOW: the watch is added through /proc/self/fd/N of a
// directory opened confined (never through a symlink), and that magic link
// must be followed to reach it.
// Paths collected per poll before we just say "overflow": a burst this
// large is cheaper to handle with one full rescan anyway.
constexpr std::size_t k_max_paths = 4096;
}  // namespace

struct watcher::state {
  const root* r = nullptr;
  unique_fd fd;
  std::map<int, rel_path> dirs;  // watch descriptor -> directory
  bool lost = false;             // a watch could not be added

  void add_tree(const rel_path& dir, int depth) {
    if (depth > 256) return;
    auto dfd = open_dir_beneath(r->fd(), dir, dir_access::path_only);
    if (!dfd) return;  // gone or replaced already: the rescan sees it
    const std::string proc = "/proc/self/fd/" + std::to_string(dfd->get());
    const int wd = ::inotify_add_watch(fd.get(), proc.c_str(), k_mask);
    if (wd < 0) {
      if (!lost) log::warn("watcher: cannot watch '" + escape_for_log(dir.str()) + "': " + std::strerror(errno));
      lost = true;
      return;
    }
    dirs[wd] = dir;
    auto entries = r->list(dir);
    if (!entries) return;
    for (const auto& e : *entries) {
      if (e.kind != file_kind::directory) continue;
      auto child = dir.join(e.name);
      if (child) add_tree(*child, depth + 1);
    }
  }
};

watcher::watcher(std::unique_ptr<state> s) : m_state(std::move(s)) {}
watcher::watcher(watcher&&) noexcept = default;
watcher& watcher::operator=(watcher&&) noexcept = default;
watcher::~watcher() = default;

result<watcher> watcher::open(const root& r) {
  auto s = std::make_unique<state>();
  s->r = &r;
  s->fd.reset(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC));
  if (!s->fd.valid()) return sys_error(errno, "cannot start inotify for", r.location().string());
  s->add_tree(rel_path{}, 0);
  return watcher(std::move(s));
}

int watcher::fd() const noexcept { return m_state->fd.get(); }
std::size_t watcher::watches() const noexcept { return m_state->dirs.size(); }

result<watch_events> watcher::poll(std::chrono::milliseconds timeout) {
  auto& s = *m_state;
  watch_events out;
  if (s.lost) {
    out.changed = out.overflow = true;
    s.lost = false;
  }
  if (timeout.count() > 0) {
    struct pollfd p {s.fd.get(), POLLIN, 0};
    (void)::poll(&p, 1, static_cast<int>(timeout.count()));
  }
  alignas(struct inotify_event) char buf[64 * 1024];
  while (true) {
    const ssize_t n = ::read(s.fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) break;
      return sys_error(errno, "cannot read inotify events for", s.r->location().string());
    }
    if (n == 0) break;
    for (ssize_t off = 0; off < n;) {
      const auto* ev = reinterpret_cast<const struct inotify_event*>(buf + off);
      off += static_cast<ssize_t>(sizeof(struct inotify_event) + ev->len);
      if (ev->mask & IN_Q_OVERFLOW) {
        out.changed = out.overflow = true;
        continue;
      }
      auto it = s.dirs.find(ev->wd);
      if (ev->mask & IN_IGNORED) {
        if (it != s.dirs.end()) s.dirs.erase(it);
        continue;
      }
      if (it == s.dirs.end()) continue;
      const std::string_view name = ev->len > 0 ? std::string_view(ev->name) : std::string_view{};
      // Our own temp files are not news; the ignore file is, and changes
      // what every path means, so it is reported as the root (a full rescan).
      const bool ignore_file = name == ".ftsyncignore" && it->second.is_root();
      if (!name.empty() && is_reserved_name(name) && !ignore_file) continue;
      out.changed = true;
      rel_path where = it->second;
      if (!name.empty() && !ignore_file) {
        auto child = where.join(name);
        if (!child) continue;
        where = *child;
        if ((ev->mask & IN_ISDIR) && (ev->mask & (IN_CREATE | IN_MOVED_TO))) s.add_tree(where, 1);
      }
      if (out.paths.size() < k_max_paths)
        out.paths.push_back(where);
      else
        out.overflow = true;
    }
  }
  return out;
}

}  // namespace ftsync::store
