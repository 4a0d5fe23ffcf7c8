#include <ftsync/util/clock.hpp>
#include <ftsync/util/bytes.hpp>
#include <ftsync/util/log.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace ftsync::log {
namespace {
std::atomic<int> g_level{static_cast<int>(level::info)};
std::mutex g_mutex;
constexpr const char* k_tags[] = {"error", "warn", "info", "debug"};
}  // namespace

void set_level(level lvl) noexcept { g_level.store(static_cast<int>(lvl)); }
level get_level() noexcept { return static_cast<level>(g_level.load()); }

void write(level lvl, std::string_view message) {
  if (static_cast<int>(lvl) > g_level.load()) return;
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
  const std::lock_guard lock(g_mutex);
  std::fprintf(stderr, "%s %s %.*s\n", stamp, k_tags[static_cast<int>(lvl)],
               static_cast<int>(message.size()), message.data());
}

}  // namespace ftsync::log

namespace ftsync {

std::string escape_for_log(std::string_view text) {
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    // Printable ASCII passes; UTF-8 sequences pass when well formed.
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
      ++i;
      continue;
    }
    std::size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    bool ok = len > 0 && i + len <= text.size();
    for (std::size_t k = 1; ok && k < len; ++k)
      ok = (static_cast<unsigned char>(text[i + k]) & 0xC0) == 0x80;
    if (ok) {
      out.append(text.substr(i, len));
      i += len;
      continue;
    }
    out += "\\x";
    out.push_back(k_hex[c >> 4]);
    out.push_back(k_hex[c & 0xF]);
    ++i;
  }
  return out;
}

std::int64_t wall_now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string to_hex(byte_view data) {
  static constexpr char k_hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(data.size() * 2);
  for (byte b : data) {
    out.push_back(k_hex[b >> 4]);
    out.push_back(k_hex[b & 0xF]);
  }
  return out;
}

}  // namespace ftsync
