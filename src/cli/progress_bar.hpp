#pragma once
// The push/pull progress line on stderr, only on a terminal (the caller
// decides: not with -q or --json). Redrawn at most 10 times a second, which
// is what a person can read and costs nothing next to a transfer; erased
// before any other output and at the end, so it never mixes with results.
#include <ftsync/ops/remote.hpp>
#include <ftsync/util/clock.hpp>

#include <cstdint>
#include <cstdio>
#include <deque>
#include <string>

namespace ftsync::cli {

struct progress_view {
  std::uint64_t bytes_done = 0;
  std::uint64_t bytes_total = 0;
  double rate = 0;          // bytes per second; 0 when not known yet
  std::string current;      // already escaped for the terminal
};

// One progress line, at most `width` columns:
//   "[#########.........]  45%  1.5 MiB/3.4 MiB  6.5 MiB/s  ETA 0:03  dir/file"
// The bar is dropped on narrow terminals, then the name is shortened from
// the left. With `color`, the filled part of the bar is green.
std::string render_progress(const progress_view& v, std::size_t width, bool color);

// Columns of the terminal on `fd`; $COLUMNS or 80 when unknown.
std::size_t terminal_width(int fd);

class progress_bar {
 public:
  // A disabled bar ignores every call.
  progress_bar(std::FILE* out, bool enabled, bool color);
  ~progress_bar();
  progress_bar(const progress_bar&) = delete;
  progress_bar& operator=(const progress_bar&) = delete;

  void update(const ops::progress& p) { update(p, mono_now()); }
  void update(const ops::progress& p, mono_time now);
  // Erases the line (call before printing anything else); the next update redraws.
  void clear();
  bool enabled() const noexcept { return m_enabled; }
  // Bytes per second over the last few seconds (sliding window).
  double rate() const noexcept { return m_rate; }

 private:
  std::FILE* m_out;
  bool m_enabled;
  bool m_color;
  bool m_drawn = false;
  mono_time m_last_draw{};
  bool m_ever_drawn = false;
  double m_rate = 0;
  // (time, bytes_done) samples of the last ~5 s: a window short enough to
  // follow a changing link, long enough not to flicker.
  std::deque<std::pair<mono_time, std::uint64_t>> m_samples;
};

}  // namespace ftsync::cli
