#pragma once
// One monotonic clock for timeouts and rates, one wall clock for mtimes.
#include <chrono>
#include <cstdint>

namespace ftsync {

using mono_clock = std::chrono::steady_clock;
using mono_time = mono_clock::time_point;

inline mono_time mono_now() noexcept { return mono_clock::now(); }

inline double seconds_since(mono_time start) noexcept {
  return std::chrono::duration<double>(mono_now() - start).count();
}

// Nanoseconds since the Unix epoch (mtimes travel in this unit).
std::int64_t wall_now_ns() noexcept;

}  // namespace ftsync
