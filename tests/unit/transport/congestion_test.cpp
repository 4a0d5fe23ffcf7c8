// The congestion controller against synthetic links: a fluid model of one
// bottleneck (capacity, base RTT, queue) with random loss, sampled every
// millisecond the way host::poll samples a connection.
#include "transport/congestion.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <random>

using namespace ftsync;
using namespace ftsync::transport::detail;
using namespace std::chrono_literals;

namespace {

struct link {
  double capacity = 100e6;   // bytes/s at the bottleneck
  double base_rtt_ms = 50;
  double loss = 0;           // fraction of commands lost at random
  double extra_loss = 0;     // added loss for a burst (overflow)
};

struct simulation {
  congestion_control cc;
  link path;
  mono_time now = mono_time{} + 1s;
  double delivered = 0;
  double sent_commands = 0;
  double lost_commands = 0;
  std::mt19937 rng{7};

  explicit simulation(link l, congestion_config cfg = {}) : cc(cfg), path(l) {}

  // The window in flight: whatever exceeds the bandwidth-delay product
  // waits in the bottleneck queue and adds delay.
  double rtt_ms() const {
    const double bdp = path.capacity * path.base_rtt_ms / 1000;
    const double queued = std::max(0.0, static_cast<double>(cc.window()) - bdp);
    return path.base_rtt_ms + queued / path.capacity * 1000;
  }

  void run(std::chrono::milliseconds how_long) {
    for (auto t = 0ms; t < how_long; t += 1ms) {
      now += 1ms;
      const double rtt = rtt_ms();
      const double rate = std::min(path.capacity, static_cast<double>(cc.window()) / (rtt / 1000));
      const double bytes = rate / 1000;
      const double commands = bytes / 1400;
      delivered += bytes * (1 - path.loss - path.extra_loss);
      sent_commands += commands;
      lost_commands += commands * (path.loss + path.extra_loss);
      congestion_sample s;
      s.now = now;
      std::uniform_real_distribution<double> jitter(0, 2);
      s.rtt_ms = rtt + jitter(rng);
      s.rtt_samples = 1;  // one message timed per millisecond
      s.delivered_bytes = static_cast<std::uint64_t>(delivered);
      s.sent_commands = static_cast<std::uint64_t>(sent_commands);
      s.lost_commands = static_cast<std::uint64_t>(lost_commands);
      s.window_full = true;  // a bulk sender always has more
      cc.on_sample(s);
    }
  }
};

}  // namespace

TEST_CASE("congestion: startup opens the window far past ENet's 64 KiB on a long fat link") {
  simulation sim({.capacity = 100e6, .base_rtt_ms = 50});
  CHECK(sim.cc.window() == 256 * 1024);
  sim.run(3s);
  const double bdp = 100e6 * 0.050;  // 5 MB
  CHECK_FALSE(sim.cc.in_startup());
  CHECK(sim.cc.window() >= bdp);
  CHECK(sim.cc.window() <= 16 * 1024 * 1024);
  CHECK(sim.cc.min_rtt_ms() == doctest::Approx(50).epsilon(0.05));
}

TEST_CASE("congestion: 1% random loss is not read as congestion") {
  simulation sim({.capacity = 40e6, .base_rtt_ms = 100, .loss = 0.01});
  sim.run(5s);
  const double bdp = 40e6 * 0.100;  // 4 MB: Reno would sit near 1.22 x 1400 / (0.1 x 0.1) = 171 KB/s
  CHECK(sim.cc.window() >= bdp);
}

TEST_CASE("congestion: heavy loss (a queue overflowing) halves the window each round") {
  simulation sim({.capacity = 100e6, .base_rtt_ms = 50});
  sim.run(3s);
  const auto before = sim.cc.window();
  sim.path.extra_loss = 0.3;
  sim.run(110ms);  // two 50 ms rounds: the first may have begun before the loss
  CHECK(sim.cc.window() <= before * 0.55);
  sim.run(2s);
  CHECK(sim.cc.window() == 64 * 1024);  // never below ENet's own window, never zero
}

TEST_CASE("congestion: a growing queue stops the window near the bandwidth-delay product") {
  // A slow bottleneck: 10 MB/s at 20 ms is a 200 KB BDP; a 16 MiB window
  // would add 1.6 s of queueing delay for everyone sharing it.
  simulation sim({.capacity = 10e6, .base_rtt_ms = 20});
  sim.run(10s);
  const double bdp = 10e6 * 0.020;
  CHECK(sim.cc.window() < 6 * bdp);
  CHECK(sim.rtt_ms() < 20 + 150);
}

TEST_CASE("congestion: windows stay inside the configured bounds") {
  congestion_config cfg;
  cfg.max_window = 1024 * 1024;
  simulation sim({.capacity = 1e9, .base_rtt_ms = 100}, cfg);
  sim.run(5s);
  CHECK(sim.cc.window() == 1024 * 1024);
}

namespace {

// Rounds of a 100 ms path where `messages` messages complete per round,
// each `rtt_ms` after it entered; returns the window afterwards.
std::size_t window_after_slow_messages(std::uint64_t messages, double rtt_ms, int rounds) {
  congestion_control cc;
  mono_time now = mono_time{} + 1s;
  std::uint64_t delivered = 0;
  congestion_sample first;
  first.now = now;
  first.rtt_ms = 100;  // the handshake's message: the path's real RTT
  first.rtt_samples = 1;
  cc.on_sample(first);
  for (int r = 0; r < rounds; ++r) {
    now += 101ms;
    delivered += messages * 128 * 1024;
    congestion_sample s;
    s.now = now;
    s.rtt_ms = rtt_ms;
    s.rtt_samples = messages;
    s.delivered_bytes = delivered;
    s.sent_commands = 1000 * (r + 1);
    s.window_full = true;
    cc.on_sample(s);
  }
  return cc.window();
}

}  // namespace

TEST_CASE("congestion: a few messages slowed by a resend do not end startup") {
  // At 1 % loss a 128 KiB message (89 datagrams at MTU 1500) needs a resend
  // more often than not, so the 2-4 messages of an early round may all be
  // slow. That is loss, not a queue: the window keeps doubling.
  CHECK(window_after_slow_messages(3, 400, 6) >= 8 * 1024 * 1024);
  // Many slow messages in a round are a queue: startup ends, the window shrinks.
  CHECK(window_after_slow_messages(20, 400, 6) < 256 * 1024);
}
