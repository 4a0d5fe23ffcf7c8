#pragma once
// Recursive inotify watcher on a root: tells the sync engine that something
// changed so it rescans within milliseconds instead of waiting for the
// periodic rescan. inotify is not recursive, so every directory gets its own
// watch, added as directories appear; a queue overflow (IN_Q_OVERFLOW, more
// than /proc/sys/fs/inotify/max_queued_events = 16384 pending events) or a
// failure to add a watch (max_user_watches) is reported as `overflow`, which
// means "rescan everything" — the periodic rescan covers whatever a watcher
// can miss. Events on ftsync's own reserved names (partial files) are
// dropped so our own writes do not wake us up, except .ftsyncignore in the
// root, reported as the root itself (new rules: rescan everything).
#include <ftsync/store/root.hpp>

#include <chrono>
#include <memory>
#include <vector>

namespace ftsync::store {

struct watch_events {
  bool changed = false;   // at least one relevant event (or an overflow)
  bool overflow = false;  // events were lost: rescan everything
  std::vector<rel_path> paths;  // paths named by the events (bounded to 4096, then overflow)
};

class watcher {
 public:
  static result<watcher> open(const root& r);
  watcher(watcher&&) noexcept;
  watcher& operator=(watcher&&) noexcept;
  ~watcher();

  // Reads every pending event; waits up to `timeout` for the first one.
  result<watch_events> poll(std::chrono::milliseconds timeout = std::chrono::milliseconds(0));
  // The inotify descriptor (readable when events are pending), for poll(2).
  int fd() const noexcept;
  std::size_t watches() const noexcept;

 private:
  struct state;
  explicit watcher(std::unique_ptr<state> s);
  std::unique_ptr<state> m_state;
};

}  // namespace ftsync::store
