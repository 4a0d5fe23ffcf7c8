#pragma once
// A token bucket that caps the rate at which messages enter ENet: the user's
// bandwidth limit (`--bwlimit`, like rsync's). It only ever delays sending;
// the congestion controller still decides how much may be in flight, so a
// limit above what the path carries changes nothing.
//
// A message may overdraw the bucket (a 128 KiB block under a 64 KiB/s
// limit goes out whole, and the next one waits two seconds), so the average
// rate holds for any message size without splitting messages. The bucket
// holds at most `burst` bytes: after an idle minute the sender does not get
// a minute's worth of bytes at line rate.
//
// Pure logic, no clock reads (tested with synthetic time).
#include <ftsync/util/clock.hpp>

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace ftsync::transport::detail {

class pacer {
 public:
  // bytes_per_s == 0: no limit.
  void set_rate(std::uint64_t bytes_per_s, mono_time now) {
    refill(now);
    m_rate = bytes_per_s;
    // 50 ms of the rate, at least one datagram's worth: smooth enough that a
    // 1 MB/s limit never shows 1 MB bursts, coarse enough that a high limit
    // does not need a wake-up per datagram.
    m_burst = std::max<double>(4096.0, static_cast<double>(bytes_per_s) / 20.0);
    m_tokens = std::min(m_tokens, m_burst);
  }
  std::uint64_t rate() const noexcept { return m_rate; }
  bool limited() const noexcept { return m_rate != 0; }

  // May a message enter now? Yes while the bucket is not in debt.
  bool may_send(mono_time now) {
    if (m_rate == 0) return true;
    refill(now);
    return m_tokens >= 0;
  }
  void on_sent(std::size_t bytes) {
    if (m_rate != 0) m_tokens -= static_cast<double>(bytes);
  }
  // How long until may_send() turns true (zero when it already is).
  std::chrono::nanoseconds wait(mono_time now) {
    if (m_rate == 0) return std::chrono::nanoseconds::zero();
    refill(now);
    if (m_tokens >= 0) return std::chrono::nanoseconds::zero();
    return std::chrono::nanoseconds(static_cast<std::int64_t>(-m_tokens * 1e9 / static_cast<double>(m_rate)) + 1);
  }

 private:
  void refill(mono_time now) {
    if (m_rate != 0 && now > m_last) {
      const double s = std::chrono::duration<double>(now - m_last).count();
      m_tokens = std::min(m_burst, m_tokens + s * static_cast<double>(m_rate));
    }
    m_last = std::max(m_last, now);
  }

  std::uint64_t m_rate = 0;
  double m_burst = 0;
  double m_tokens = 0;
  mono_time m_last{};
};

}  // namespace ftsync::transport::detail
