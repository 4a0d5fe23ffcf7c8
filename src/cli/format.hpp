#pragma once
// Pure text formatting for human output: sizes, rates, durations, modes,
// times. Kept free of I/O so tests/unit/cli can check every case.
#include <ftsync/wire/messages.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace ftsync::cli {

// IEC units with one decimal: "0 B", "999 B", "1.0 KiB", "3.4 MiB", "1.5 GiB".
std::string human_size(std::uint64_t bytes);
// human_size per second: "6.5 MiB/s"; "0 B/s" for a zero or unknown rate.
std::string human_rate(double bytes_per_second);
// bytes / seconds, 0 when seconds is not positive.
double rate_of(std::uint64_t bytes, double seconds) noexcept;
// Seconds for a summary: "0.52 s", "12.3 s", "125 s".
std::string human_seconds(double seconds);
// ETA for a progress bar: "0:07", "12:34", "1:02:03"; "--:--" when unknown
// (negative, not finite, or over 100 hours).
std::string human_eta(double seconds);
// "12 files", "1 file".
std::string plural(std::uint64_t n, std::string_view one, std::string_view many);

// ls -l style: "drwxr-xr-x", "-rw-r--r--", "lrwxrwxrwx", "?---------";
// setuid/setgid/sticky shown as s/S and t/T.
std::string mode_string(wire::entry_kind kind, std::uint32_t mode);
// Local time "YYYY-MM-DD HH:MM" of nanoseconds since the epoch.
std::string local_time(std::int64_t mtime_ns);
// "file", "dir", "symlink", "other" (JSON "type" values).
std::string_view kind_name(wire::entry_kind kind) noexcept;

// Number of terminal columns a UTF-8 string takes, counting one per code
// point (wide CJK glyphs are under-counted; good enough to fit a bar).
std::size_t display_width(std::string_view s) noexcept;
// Keeps the end of `s` (the file name is the informative part) so it fits in
// `width` columns, with a leading "…" when cut. Never splits a code point.
std::string fit_left(std::string_view s, std::size_t width);

}  // namespace ftsync::cli
