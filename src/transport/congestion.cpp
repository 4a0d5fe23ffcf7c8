#include "transport/congestion.hpp"

#include <algorithm>

namespace ftsync::transport::detail {

using namespace std::chrono_literals;

namespace {

// A round is one minimum RTT, but at least 50 ms: a receiver that is busy
// hashing and writing acknowledges in bursts, and 20 ms rounds read those
// bursts as 2-4x the real delivery rate (measured at 20 ms RTT).
constexpr double k_min_round_ms = 50;
constexpr double k_unmeasured_round_ms = 50;
// The lowest RTT is re-learnt every 10 s, as BBR does, so a route change
// to a longer path is not mistaken for a standing queue forever.
constexpr auto k_min_rtt_lifetime = 10s;
// Fewer commands than this in a round make the loss ratio meaningless.
constexpr std::uint64_t k_min_commands_for_loss = 32;
// The fastest message of a round says "queue" only when the round timed
// enough messages. A 128 KiB message is 89 datagrams at MTU 1500; at 1 %
// loss only 41 % of such messages arrive without a resend, so in startup's
// first rounds (2-4 messages) every message was often slow and startup
// ended at a 256-512 KiB window: 2.5 s to reach 60 MB/s at 100 ms RTT
// instead of 0.6 s. With 8 messages a false alarm is 0.59^8 = 1.5 % of rounds.
constexpr std::uint64_t k_min_messages_for_queue = 8;

}  // namespace

congestion_control::congestion_control(const congestion_config& cfg) : m_cfg(cfg), m_window(cfg.initial_window) {}

double congestion_control::delivery_rate() const noexcept { return *std::max_element(m_rates.begin(), m_rates.end()); }

void congestion_control::set_window(double w) {
  const double lo = static_cast<double>(m_cfg.min_window);
  const double hi = static_cast<double>(m_cfg.max_window);
  m_window = static_cast<std::size_t>(std::clamp(w, lo, hi));
}

void congestion_control::on_sample(const congestion_sample& s) {
  if (s.rtt_ms > 0) {
    if (m_min_rtt_ms == 0 || s.rtt_ms <= m_min_rtt_ms || s.now - m_min_rtt_at > k_min_rtt_lifetime) {
      m_min_rtt_ms = s.rtt_ms;
      m_min_rtt_at = s.now;
    }
    if (m_round_rtt_ms == 0 || s.rtt_ms < m_round_rtt_ms) m_round_rtt_ms = s.rtt_ms;
    m_round_rtt_samples += s.rtt_samples;
  }
  if (!m_round_started) {
    m_round_started = true;
    m_round_start = s.now;
    m_round_delivered = s.delivered_bytes;
    m_round_sent = s.sent_commands;
    m_round_lost = s.lost_commands;
    m_window_used = false;
    return;
  }
  m_window_used = m_window_used || s.window_full;
  const double round_ms = m_min_rtt_ms == 0 ? k_unmeasured_round_ms : std::max(m_min_rtt_ms, k_min_round_ms);
  if (std::chrono::duration<double, std::milli>(s.now - m_round_start).count() < round_ms) return;
  end_round(s);
}

// After a back-off the rates measured before it must not restore the old
// window in the next round: delivery comes in bursts (acknowledgements that
// waited behind a busy receiver, a gap filled by a resend), and the best
// recent rate then read up to twice the path's real rate, so 2x that BDP
// kept a standing queue of 15 MB on a 100 ms link (queueing delay past the
// retransmission timeout: thousands of spurious resends). BBR drains its
// queue after startup for the same reason.
void congestion_control::forget_rates_above_window() {
  const double rtt_s = std::max(m_min_rtt_ms, k_min_round_ms / 4) / 1000.0;
  const double cap = static_cast<double>(m_window) / (2 * rtt_s);
  for (double& r : m_rates) r = std::min(r, cap);
}

void congestion_control::end_round(const congestion_sample& s) {
  const double seconds = std::chrono::duration<double>(s.now - m_round_start).count();
  const double delivered = static_cast<double>(s.delivered_bytes - std::min(s.delivered_bytes, m_round_delivered));
  m_rates[m_next_rate] = delivered / seconds;
  m_next_rate = (m_next_rate + 1) % m_rates.size();

  const std::uint64_t sent = s.sent_commands - std::min(s.sent_commands, m_round_sent);
  const std::uint64_t lost = s.lost_commands - std::min(s.lost_commands, m_round_lost);
  const bool overflow = sent >= k_min_commands_for_loss &&
                        static_cast<double>(lost) > m_cfg.loss_backoff_ratio * static_cast<double>(sent);
  const bool rtt_measured = m_round_rtt_samples >= k_min_messages_for_queue;
  if (rtt_measured) m_recent_rtt_ms = m_round_rtt_ms;
  const bool queue_building = m_min_rtt_ms > 0 && rtt_measured && m_round_rtt_ms > 1.5 * m_min_rtt_ms + 10;
  const double w = static_cast<double>(m_window);

  if (overflow) {
    m_startup = false;
    set_window(w * 0.5);
    forget_rates_above_window();
  } else if (queue_building) {
    m_startup = false;
    set_window(w * 0.85);
    forget_rates_above_window();
  } else if (m_startup) {
    if (m_window_used) set_window(w * 2);
    if (m_window >= m_cfg.max_window) m_startup = false;
  } else {
    // Twice the bandwidth-delay product keeps the pipe full across ack
    // jitter and one retransmission timeout of head-of-line blocking. Every
    // fourth round probes 25% above it when the window was the limit, so a
    // path that got faster is found (BBR's ProbeBW, simplified).
    const double bdp = delivery_rate() * (std::max(m_min_rtt_ms, k_min_round_ms / 4) / 1000.0);
    // Without a congestion signal the window only decays slowly: a round
    // with no deliveries is usually head-of-line blocking behind one
    // resent datagram, not a slower path.
    double target = std::max(2 * bdp, 0.9 * w);
    if (m_window_used && ++m_rounds % 4 == 0) target = std::max(target, w * 1.25);
    set_window(target);
  }

  m_round_start = s.now;
  m_round_delivered = s.delivered_bytes;
  m_round_sent = s.sent_commands;
  m_round_lost = s.lost_commands;
  m_window_used = false;
  m_round_rtt_ms = 0;
  m_round_rtt_samples = 0;
}

}  // namespace ftsync::transport::detail
