// The bandwidth limit: the token bucket against synthetic time, then real
// hosts on loopback. The host cases only check lower bounds on time (a
// limit must hold); noise on a shared machine can only make them slower.
#include "harness.hpp"
#include "transport/pacer.hpp"

#include <doctest/doctest.h>

using namespace ftsync;
using namespace ftsync::transport;
using namespace ftsync::transport::test;
using detail::pacer;

namespace {

constexpr std::size_t k_block = 128 * 1024;

// Sends k_block messages whenever the pacer allows, for `span` of synthetic
// time in 1 ms steps; returns the bytes sent.
std::uint64_t drive(pacer& p, mono_time& now, std::chrono::milliseconds span) {
  std::uint64_t sent = 0;
  const mono_time end = now + span;
  for (; now < end; now += 1ms) {
    while (p.may_send(now)) {
      p.on_sent(k_block);
      sent += k_block;
    }
  }
  return sent;
}

}  // namespace

TEST_CASE("pacer: the average rate holds for messages larger than a second's worth of tokens") {
  for (std::uint64_t rate : {64 * 1024ull, 1'000'000ull, 50'000'000ull}) {
    CAPTURE(rate);
    pacer p;
    mono_time now{};
    now += 1h;
    p.set_rate(rate, now);
    const double sent = static_cast<double>(drive(p, now, 20s));
    const double expected = 20.0 * static_cast<double>(rate);
    // One message of overdraft and one burst of tokens is all it may exceed.
    CHECK(sent <= expected + k_block + static_cast<double>(rate) / 20 + 4096);
    CHECK(sent >= expected - static_cast<double>(k_block));
  }
}

TEST_CASE("pacer: no limit sends everything; idle time does not pile up tokens") {
  pacer open;
  mono_time now{};
  for (int i = 0; i < 1000; ++i) {
    REQUIRE(open.may_send(now));
    open.on_sent(k_block);
  }
  CHECK(open.wait(now) == std::chrono::nanoseconds::zero());

  pacer p;
  p.set_rate(1'000'000, now);
  now += 60s;  // a minute of silence is worth 50 ms of tokens, not 60 MB
  std::uint64_t burst = 0;
  while (p.may_send(now) && burst < 100 * k_block) {
    p.on_sent(4096);
    burst += 4096;
  }
  CHECK(burst <= 1'000'000 / 20 + 4096);
  CHECK(burst >= 1'000'000 / 20 - 4096);
}

TEST_CASE("pacer: wait() says when the debt is paid, and a lowered rate applies at once") {
  pacer p;
  mono_time now{};
  now += 1h;
  p.set_rate(1'000'000, now);
  REQUIRE(p.may_send(now));
  p.on_sent(500'000);  // half a second of debt
  const auto w = p.wait(now);
  CHECK(w >= 499ms);
  CHECK(w <= 501ms);
  CHECK_FALSE(p.may_send(now + 400ms));
  CHECK(p.may_send(now + 501ms));
  p.set_rate(0, now);
  CHECK(p.may_send(now));
}

namespace {

// Sends `count` k_block messages from `from` on `conn` and pumps both nodes
// until `to` received them all; returns the seconds it took (-1 on timeout).
double timed_transfer(node& from, conn_id conn, node& to, int count) {
  const auto start = mono_now();
  for (int i = 0; i < count; ++i) REQUIRE(from.h->send(conn, bytes(k_block, static_cast<byte>(i))).ok());
  int received = 0;
  const bool done = pump_until({&from, &to}, [&] {
    while (auto e = to.take(event_kind::received)) {
      CHECK(e->data.size() == k_block);
      ++received;
    }
    return received == count;
  }, 30s);
  return done ? seconds_since(start) : -1;
}

}  // namespace

TEST_CASE("a host's max_send_rate holds: 3 MiB at 2 MiB/s takes at least 1.3 s") {
  auto server = make_server();
  auto o = small_opts();
  o.max_send_rate = 2 * 1024 * 1024;
  auto client = make_client(o);
  auto [cid, sid] = connect_pair(client, server);
  (void)sid;
  const double s = timed_transfer(client, cid, server, 24);
  REQUIRE(s > 0);
  CHECK(s >= 1.3);  // unpaced, the same 3 MiB take ~30 ms on loopback
}

TEST_CASE("limit_send_rate paces one connection; 0 lifts it") {
  auto server = make_server();
  auto client = make_client();
  auto [cid, sid] = connect_pair(client, server);
  server.h->limit_send_rate(sid, 2 * 1024 * 1024);
  const double limited = timed_transfer(server, sid, client, 24);
  REQUIRE(limited > 0);
  CHECK(limited >= 1.3);
  // The other direction was never limited.
  const double other_way = timed_transfer(client, cid, server, 24);
  REQUIRE(other_way > 0);
  CHECK(other_way < limited);
  server.h->limit_send_rate(sid, 0);
  const double lifted = timed_transfer(server, sid, client, 24);
  REQUIRE(lifted > 0);
  CHECK(lifted < limited);
}

TEST_CASE("a server-wide limit is shared fairly between connections") {
  auto o = small_opts();
  o.max_send_rate = 2 * 1024 * 1024;
  auto server = make_server(o);
  auto a = make_client();
  auto b = make_client();
  auto [aid, s_a] = connect_pair(a, server);
  auto [bid, s_b] = connect_pair(b, server);
  (void)aid;
  (void)bid;
  constexpr int n = 16;  // 2 MiB each, 4 MiB together: 2 s at the limit
  const auto start = mono_now();
  for (int i = 0; i < n; ++i) {
    REQUIRE(server.h->send(s_a, bytes(k_block, 1)).ok());
    REQUIRE(server.h->send(s_b, bytes(k_block, 2)).ok());
  }
  int got_a = 0;
  int got_b = 0;
  int other_when_first_done = -1;
  REQUIRE(pump_until({&server, &a, &b}, [&] {
    while (a.take(event_kind::received)) ++got_a;
    while (b.take(event_kind::received)) ++got_b;
    if (other_when_first_done < 0 && (got_a == n || got_b == n)) other_when_first_done = std::min(got_a, got_b);
    return got_a == n && got_b == n;
  }, 30s));
  CHECK(seconds_since(start) >= 1.7);
  // Turns: when one finishes, the other is nearly done too (typically one
  // block behind; without turns it had 1 block of 16). Receive-side timing
  // adds noise, hence the margin.
  CHECK(other_when_first_done >= n / 2);
}
