#pragma once
// Long blocking work on the thread that owns a connection (reading and
// hashing a large file; fsync of a large file on a slow disk) must let the
// connection breathe: ENet drops a peer that acknowledges nothing for 30 s,
// and CI's disks have taken that long to flush 256 MiB. Such work takes a
// keep_alive_fn and calls it every ~100 ms; the connection's owner passes one
// that services the socket (transport::host::keep_alive).
#include <ftsync/util/clock.hpp>

#include <chrono>
#include <functional>
#include <future>
#include <utility>

namespace ftsync {

using keep_alive_fn = std::function<void()>;

inline constexpr std::chrono::milliseconds keep_alive_interval{100};

// For loops: tick() on every step calls the function once per interval.
class keep_alive_timer {
 public:
  explicit keep_alive_timer(const keep_alive_fn& fn) : m_fn(fn) {}
  void tick() {
    if (!m_fn) return;
    const mono_time now = mono_now();
    if (now - m_last < keep_alive_interval) return;
    m_last = now;
    m_fn();
  }

 private:
  const keep_alive_fn& m_fn;
  mono_time m_last = mono_now();
};

// For one blocking call: runs `work` on a helper thread and keeps the
// connection alive on this one until it returns. `work` must not touch
// anything keep_alive touches. Without a keep_alive it simply runs here.
template <class Work>
auto run_keeping_alive(Work&& work, const keep_alive_fn& keep_alive) -> decltype(work()) {
  if (!keep_alive) return work();
  auto done = std::async(std::launch::async, std::forward<Work>(work));
  while (done.wait_for(keep_alive_interval) != std::future_status::ready) keep_alive();
  return done.get();
}

}  // namespace ftsync
