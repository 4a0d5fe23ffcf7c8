#pragma once
// Minimal leveled logging to stderr. Peer-controlled text must go through
// escape_for_log first (research/security.md E1: log injection).
#include <string>
#include <string_view>

namespace ftsync::log {

enum class level { error = 0, warn = 1, info = 2, debug = 3 };

void set_level(level lvl) noexcept;
level get_level() noexcept;

void write(level lvl, std::string_view message);
inline void error(std::string_view m) { write(level::error, m); }
inline void warn(std::string_view m) { write(level::warn, m); }
inline void info(std::string_view m) { write(level::info, m); }
inline void debug(std::string_view m) { write(level::debug, m); }

}  // namespace ftsync::log

namespace ftsync {
// Escapes control characters, backslash and invalid UTF-8 as \xNN so a name
// always prints on one line without terminal escapes.
std::string escape_for_log(std::string_view text);
}  // namespace ftsync
