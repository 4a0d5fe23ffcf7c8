#pragma once
// How much reliable data one connection may have in flight: ftsync's own
// congestion window, because ENet's is fixed at 64 KiB (one window per RTT:
// 3.2 MB/s at 20 ms, 0.65 MB/s at 100 ms, lab/RESULTS.md) and its throttle
// reacts to RTT noise rather than to congestion.
//
// The design follows BBR's idea rather than TCP Reno's: random loss is not a
// congestion signal. At 100 ms RTT and 1% loss a Reno sender is held near
// MSS / (RTT * sqrt(p)) (Mathis et al.), which is why TCP tools crawl on such
// links. This controller
//   - starts at 256 KiB and doubles the window every round trip (startup)
//     while the RTT stays near its minimum and loss stays low;
//   - then keeps the window at 2x the measured bandwidth-delay product
//     (highest delivery rate of the last 10 rounds x lowest RTT), probing
//     25% above it every fourth round when the window was the limit;
//   - backs off when the path shows congestion: x0.85 when even the fastest
//     message of a round took over 1.5x the minimum RTT + 10 ms (a queue is
//     building; the fastest, because a message that lost a datagram waits a
//     retransmission timeout without meaning congestion; judged only over
//     8 or more messages, see k_min_messages_for_queue), x0.5 when more
//     than 10% of the commands sent in a round timed out (a queue overflowed).
// So on a shared bottleneck it yields as soon as its own queue grows, and on a
// clean but lossy long link it still fills the pipe.
//
// Pure logic (no ENet, no clock reads) so that it can be tested with
// synthetic links.
#include <ftsync/util/clock.hpp>

#include <array>
#include <cstddef>
#include <cstdint>

namespace ftsync::transport::detail {

struct congestion_config {
  std::size_t initial_window = 256 * 1024;
  std::size_t min_window = 64 * 1024;   // ENet's own fixed window: never worse than plain ENet
  std::size_t max_window = 16 * 1024 * 1024;
  double loss_backoff_ratio = 0.10;     // per-round timeout ratio treated as overflow
};

// Cumulative counters of one connection, read after every service call.
struct congestion_sample {
  mono_time now{};
  // Lowest message round trip (handed to ENet -> fully acknowledged) since
  // the previous sample, 0 when none completed. ENet's own RTT estimate
  // is not used: under a large window it read 8 ms on a 20 ms link.
  double rtt_ms = 0;
  std::uint64_t rtt_samples = 0;       // messages behind rtt_ms (completed since the previous sample)
  std::uint64_t delivered_bytes = 0;   // payload bytes acknowledged so far
  std::uint64_t sent_commands = 0;     // reliable commands sent so far (incl. resends)
  std::uint64_t lost_commands = 0;     // retransmission timeouts so far
  bool window_full = false;            // data was waiting for window space
};

class congestion_control {
 public:
  explicit congestion_control(const congestion_config& cfg = {});

  void on_sample(const congestion_sample& s);
  std::size_t window() const noexcept { return m_window; }
  bool in_startup() const noexcept { return m_startup; }
  double min_rtt_ms() const noexcept { return m_min_rtt_ms; }
  // The fastest message of the latest round that timed enough messages: the
  // path's RTT now, queueing included (0 until measured).
  double recent_rtt_ms() const noexcept { return m_recent_rtt_ms; }
  double delivery_rate() const noexcept;  // bytes/s, best of the recent rounds

 private:
  void end_round(const congestion_sample& s);
  void set_window(double w);
  void forget_rates_above_window();

  congestion_config m_cfg;
  std::size_t m_window;
  bool m_startup = true;
  bool m_round_started = false;
  bool m_window_used = false;  // the window was the limit at some point this round
  mono_time m_round_start{};
  std::uint64_t m_round_delivered = 0;
  std::uint64_t m_round_sent = 0;
  std::uint64_t m_round_lost = 0;
  double m_min_rtt_ms = 0;
  mono_time m_min_rtt_at{};
  double m_round_rtt_ms = 0;  // lowest sample this round
  std::uint64_t m_round_rtt_samples = 0;
  double m_recent_rtt_ms = 0;
  std::array<double, 10> m_rates{};  // delivery rate of the last rounds
  std::size_t m_next_rate = 0;
  std::uint64_t m_rounds = 0;
};

}  // namespace ftsync::transport::detail
