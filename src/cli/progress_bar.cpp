#include "cli/progress_bar.hpp"

#include "cli/format.hpp"

#include <ftsync/util/log.hpp>

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>

namespace ftsync::cli {
namespace {

constexpr auto k_redraw_interval = std::chrono::milliseconds(100);  // 10 redraws/s
constexpr auto k_rate_window = std::chrono::seconds(5);
constexpr std::size_t k_max_bar = 30;
constexpr std::size_t k_min_bar = 8;

}  // namespace

std::string render_progress(const progress_view& v, std::size_t width, bool color) {
  const std::uint64_t total = v.bytes_total;
  const std::uint64_t done = std::min(v.bytes_done, total);
  const double fraction = total == 0 ? 1.0 : static_cast<double>(done) / static_cast<double>(total);
  const double eta = v.rate > 0 ? static_cast<double>(total - done) / v.rate : -1.0;
  // Fixed-width fields, so the line does not jitter as the numbers change.
  char stats_buf[128];
  std::snprintf(stats_buf, sizeof stats_buf, "%3d%%  %10s/%-10s  %12s  ETA %-8s",
                static_cast<int>(fraction * 100.0), human_size(done).c_str(), human_size(total).c_str(),
                human_rate(v.rate).c_str(), human_eta(eta).c_str());
  std::string stats = stats_buf;
  std::size_t stats_width = display_width(stats_buf);
  if (width < stats_width + 14) {
    // Narrow terminal: numbers without padding leave room for the name.
    std::snprintf(stats_buf, sizeof stats_buf, "%d%% %s/%s %s ETA %s", static_cast<int>(fraction * 100.0),
                  human_size(done).c_str(), human_size(total).c_str(), human_rate(v.rate).c_str(),
                  human_eta(eta).c_str());
    stats = stats_buf;
    stats_width = display_width(stats);
  }
  while (!stats.empty() && stats.back() == ' ') stats.pop_back();

  std::string line;
  std::size_t used = 0;
  // The bar only when it fits with the numbers and ~12 columns of name.
  const std::size_t spare = width > stats_width + 4 + 12 ? width - stats_width - 4 - 12 : 0;
  const std::size_t bar = std::min(k_max_bar, spare);
  if (bar >= k_min_bar) {
    const auto filled = static_cast<std::size_t>(fraction * static_cast<double>(bar));
    line += '[';
    if (color && filled > 0) line += "\033[32m";
    line.append(filled, '#');
    if (color && filled > 0) line += "\033[0m";
    line.append(bar - filled, '.');
    line += "]  ";
    used = bar + 4;
  }
  if (used + display_width(stats) > width) return fit_left(stats, width);
  line += stats;
  used += display_width(stats);
  if (!v.current.empty()) {
    // Pad the numbers to their full width so the name does not jump about.
    std::size_t pad = stats_width - display_width(stats);
    if (used + pad + 3 > width) pad = 0;
    if (used + pad + 3 <= width) {
      line.append(pad, ' ');
      line += "  ";
      line += fit_left(v.current, width - used - pad - 2);
    }
  }
  return line;
}

std::size_t terminal_width(int fd) {
  struct winsize ws {};
  if (::ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) return ws.ws_col;
  if (const char* c = std::getenv("COLUMNS")) {
    const long n = std::strtol(c, nullptr, 10);
    if (n > 0 && n < 10000) return static_cast<std::size_t>(n);
  }
  return 80;
}

progress_bar::progress_bar(std::FILE* out, bool enabled, bool color)
    : m_out(out), m_enabled(enabled), m_color(color) {}

progress_bar::~progress_bar() { clear(); }

void progress_bar::update(const ops::progress& p, mono_time now) {
  m_samples.emplace_back(now, p.bytes_done);
  while (m_samples.size() > 2 && now - m_samples.front().first > k_rate_window) m_samples.pop_front();
  const auto& first = m_samples.front();
  const double span = std::chrono::duration<double>(now - first.first).count();
  if (span > 0.05 && p.bytes_done >= first.second)
    m_rate = static_cast<double>(p.bytes_done - first.second) / span;
  if (!m_enabled) return;
  if (m_ever_drawn && now - m_last_draw < k_redraw_interval) return;
  m_last_draw = now;
  m_ever_drawn = true;
  progress_view v{p.bytes_done, p.bytes_total, m_rate, escape_for_log(p.current)};
  // One column spare: writing the last column makes some terminals wrap.
  const std::size_t width = terminal_width(fileno(m_out));
  const std::string line = render_progress(v, width > 1 ? width - 1 : width, m_color);
  std::fprintf(m_out, "\r%s\033[K", line.c_str());
  std::fflush(m_out);
  m_drawn = true;
}

void progress_bar::clear() {
  if (!m_enabled || !m_drawn) return;
  std::fputs("\r\033[K", m_out);
  std::fflush(m_out);
  m_drawn = false;
}

}  // namespace ftsync::cli
