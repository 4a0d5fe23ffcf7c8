#include "cli/format.hpp"

#include <cmath>
#include <cstdio>
#include <ctime>

namespace ftsync::cli {

std::string human_size(std::uint64_t bytes) {
  static constexpr const char* k_units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double v = static_cast<double>(bytes) / 1024.0;
  std::size_t unit = 0;
  // Move up a unit before rounding would print "1024.0".
  while (v >= 1023.95 && unit + 1 < std::size(k_units)) {
    v /= 1024.0;
    ++unit;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", v, k_units[unit]);
  return buf;
}

double rate_of(std::uint64_t bytes, double seconds) noexcept {
  return seconds > 0 ? static_cast<double>(bytes) / seconds : 0.0;
}

std::string human_rate(double bytes_per_second) {
  if (!std::isfinite(bytes_per_second) || bytes_per_second <= 0) return "0 B/s";
  if (bytes_per_second >= 1.8e19) return human_size(UINT64_MAX) + "/s";
  return human_size(static_cast<std::uint64_t>(bytes_per_second)) + "/s";
}

std::string human_seconds(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) seconds = 0;
  char buf[32];
  if (seconds < 10)
    std::snprintf(buf, sizeof buf, "%.2f s", seconds);
  else if (seconds < 100)
    std::snprintf(buf, sizeof buf, "%.1f s", seconds);
  else
    std::snprintf(buf, sizeof buf, "%.0f s", seconds);
  return buf;
}

std::string human_eta(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0 || seconds >= 100.0 * 3600) return "--:--";
  const auto s = static_cast<long>(std::ceil(seconds));
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%ld:%02ld", s / 60, s % 60);
  return buf;
}

std::string plural(std::uint64_t n, std::string_view one, std::string_view many) {
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

std::string mode_string(wire::entry_kind kind, std::uint32_t mode) {
  std::string s(10, '-');
  switch (kind) {
    case wire::entry_kind::file: s[0] = '-'; break;
    case wire::entry_kind::directory: s[0] = 'd'; break;
    case wire::entry_kind::symlink: s[0] = 'l'; break;
    case wire::entry_kind::other: s[0] = '?'; break;
  }
  static constexpr char k_rwx[] = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i)
    if (mode & (0400u >> i)) s[static_cast<std::size_t>(i + 1)] = k_rwx[i];
  auto special = [&](std::size_t pos, std::uint32_t bit, char on_exec, char off_exec) {
    if (mode & bit) s[pos] = s[pos] == 'x' ? on_exec : off_exec;
  };
  special(3, 04000, 's', 'S');
  special(6, 02000, 's', 'S');
  special(9, 01000, 't', 'T');
  return s;
}

std::string local_time(std::int64_t mtime_ns) {
  // Floor division: times before 1970 still name the right second.
  std::int64_t secs = mtime_ns / 1000000000;
  if (mtime_ns % 1000000000 < 0) --secs;
  const auto t = static_cast<std::time_t>(secs);
  std::tm tm{};
  if (localtime_r(&t, &tm) == nullptr) return std::string(16, '?');
  char buf[64];
  if (std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm) == 0) return std::string(16, '?');
  return buf;
}

std::string_view kind_name(wire::entry_kind kind) noexcept {
  switch (kind) {
    case wire::entry_kind::file: return "file";
    case wire::entry_kind::directory: return "dir";
    case wire::entry_kind::symlink: return "symlink";
    case wire::entry_kind::other: break;
  }
  return "other";
}

std::size_t display_width(std::string_view s) noexcept {
  std::size_t n = 0;
  for (char c : s)
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  return n;
}

std::string fit_left(std::string_view s, std::size_t width) {
  if (display_width(s) <= width) return std::string(s);
  if (width == 0) return {};
  // Keep width-1 code points from the end, then prefix the ellipsis.
  std::size_t keep = width - 1;
  std::size_t pos = s.size();
  while (pos > 0 && keep > 0) {
    --pos;
    while (pos > 0 && (static_cast<unsigned char>(s[pos]) & 0xC0) == 0x80) --pos;
    --keep;
  }
  return "\xE2\x80\xA6" + std::string(s.substr(pos));
}

}  // namespace ftsync::cli
