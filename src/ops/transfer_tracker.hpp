#pragma once
// Private to ops/: bookkeeping shared by the push and pull engines:
// progress (throttled to ~10 calls/s), the summary, the first error, and the
// stall deadline that turns a silent server into errc::timeout.
#include <ftsync/ops/remote.hpp>
#include <ftsync/util/clock.hpp>
#include <ftsync/util/limits.hpp>

#include <optional>

namespace ftsync::ops {

class transfer_tracker {
 public:
  explicit transfer_tracker(const transfer_options& opts) : m_opts(opts) {}

  progress& state() noexcept { return m_progress; }
  transfer_summary& summary() noexcept { return m_summary; }

  void add_bytes(std::uint64_t n) {
    m_progress.bytes_done += n;
    report();
  }
  void file_done(file_event ev) {
    m_progress.files_done++;
    if (m_opts.on_file) m_opts.on_file(ev);
    report();
  }
  void report(bool force = false) {
    if (!m_opts.on_progress) return;
    const auto now = mono_now();
    if (!force && now - m_last_report < std::chrono::milliseconds(100)) return;
    m_last_report = now;
    m_opts.on_progress(m_progress);
  }

  // The first failure is what the command reports; later ones are counted.
  void fail(error e) {
    ++m_failures;
    if (!m_first_error) m_first_error = std::move(e);
  }
  bool failed() const noexcept { return m_first_error.has_value(); }
  error final_error() const {
    error e = *m_first_error;
    if (m_failures > 1) e.message += " (and " + std::to_string(m_failures - 1) + " more errors)";
    return e;
  }

  void heard_from_peer() { m_last_heard = mono_now(); }
  bool stalled(const session::client& s) const { return s.reply_overdue(m_last_heard); }

 private:
  const transfer_options& m_opts;
  progress m_progress;
  transfer_summary m_summary;
  std::optional<error> m_first_error;
  std::size_t m_failures = 0;
  mono_time m_last_report{};
  mono_time m_last_heard = mono_now();
};

// Most files a transfer keeps open at once; below the server's
// limits::max_open_transfers so a session never hits that limit. 32 files in
// flight hide the 2 round trips each small file needs.
inline constexpr std::size_t max_active_files = 32;

}  // namespace ftsync::ops
