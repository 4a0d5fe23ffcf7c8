#include "unit/transport/harness.hpp"

#include <doctest/doctest.h>

#include <string>
#include <thread>

using namespace ftsync::transport;
using namespace ftsync::transport::test;
using ftsync::byte;
using ftsync::bytes;
using ftsync::errc;

namespace {

// Deterministic content for message `i` of `size` bytes (xorshift stream).
bytes pattern(std::uint32_t i, std::size_t size) {
  bytes out(size);
  std::uint64_t x = 0x9E3779B97F4A7C15ull ^ (std::uint64_t{i} * 0x100000001B3ull);
  for (std::size_t j = 0; j < size; ++j) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    out[j] = static_cast<byte>(x);
  }
  return out;
}

bytes small_message(int i) {
  std::string s = "msg-" + std::to_string(i) + std::string(static_cast<std::size_t>(i % 37), 'x');
  return bytes(s.begin(), s.end());
}

}  // namespace

TEST_CASE("connect, then 1,000 small messages each way arrive in order") {
  auto server = make_server();
  auto client = make_client();
  auto [cid, sid] = connect_pair(client, server);
  CHECK(cid == 1);
  CHECK(sid == 1);
  CHECK(client.h->peer_address(cid) == "127.0.0.1:" + std::to_string(server.h->local_port()));
  CHECK(server.h->peer_address(sid) == "127.0.0.1:" + std::to_string(client.h->local_port()));
  CHECK(client.h->local_port() != 0);

  constexpr int n = 1000;
  std::size_t payload = 0;
  for (int i = 0; i < n; ++i) {
    auto m = small_message(i);
    payload += m.size();
    REQUIRE(client.h->send(cid, m).ok());
    REQUIRE(server.h->send(sid, m).ok());
  }
  CHECK(client.h->queued_bytes(cid) == payload);  // nothing acknowledged before a poll
  CHECK(server.h->queued_bytes(sid) == payload);

  REQUIRE(pump_until({&client, &server}, [&] {
    return client.count(event_kind::received) == n && server.count(event_kind::received) == n;
  }));
  for (int i = 0; i < n; ++i) {
    auto at_server = server.take(event_kind::received);
    auto at_client = client.take(event_kind::received);
    REQUIRE(at_server);
    REQUIRE(at_client);
    CHECK(at_server->conn == sid);
    CHECK(at_client->conn == cid);
    CHECK(at_server->data == small_message(i));
    CHECK(at_client->data == small_message(i));
  }
  // Acknowledgements return the queue to zero.
  REQUIRE(pump_until({&client, &server},
                     [&, c = cid, sv = sid] { return client.h->queued_bytes(c) == 0 && server.h->queued_bytes(sv) == 0; }));
  // UDP payload counters include ENet headers and acks, so exceed the payload.
  auto cs = client.h->stats();
  auto ss = server.h->stats();
  CHECK(cs.bytes_sent > payload);
  CHECK(cs.bytes_received > payload);
  CHECK(ss.bytes_sent > payload);
  CHECK(ss.bytes_received > payload);
  CHECK(ss.gate_dropped == 0);
}

TEST_CASE("200 messages of 400 KiB arrive intact with the send queue kept bounded") {
  auto server = make_server();
  auto client = make_client();
  auto [cid, sid] = connect_pair(client, server);
  constexpr std::uint32_t n = 200;
  constexpr std::size_t size = 400 * 1024;
  constexpr std::size_t window = 4 * 1024 * 1024;
  std::uint32_t sent = 0;
  std::uint32_t received = 0;
  std::size_t max_queued = 0;
  const auto deadline = ftsync::mono_now() + 60s;
  for (int iter = 0; iter < 2'000'000 && received < n && ftsync::mono_now() < deadline; ++iter) {
    while (sent < n && client.h->queued_bytes(cid) + size <= window) {
      REQUIRE(client.h->send(cid, pattern(sent, size)).ok());
      ++sent;
    }
    max_queued = std::max(max_queued, client.h->queued_bytes(cid));
    step({&client, &server}, 0ms);
    while (auto e = server.take(event_kind::received)) {
      CHECK(e->conn == sid);
      REQUIRE(e->data.size() == size);
      CHECK(e->data == pattern(received, size));
      ++received;
    }
  }
  CHECK(received == n);
  CHECK(max_queued <= window);
  CHECK(max_queued >= size);
  CHECK(server.h->stats().bytes_received > std::uint64_t{n} * size);
  // ENet's datagrams left in runs, one sendmsg per run (transport/send_batch.hpp):
  // fails if libenet stopped calling the interposed enet_socket_send.
  const auto cs = client.h->stats();
  CHECK(cs.socket_hooks_active);
  CHECK(cs.batched_datagrams > std::uint64_t{n} * size / 4096);
  CHECK(cs.batched_sends * 4 < cs.batched_datagrams);
  CHECK(cs.batch_send_failures * 100 <= cs.batched_datagrams);
  // ...and arrived as coalesced runs, split again for ENet (receive_batch.hpp).
  const auto ss = server.h->stats();
  CHECK(ss.batched_receive_datagrams > std::uint64_t{n} * size / 4096);
  CHECK(ss.batched_receive_reads * 4 < ss.batched_receive_datagrams);
}

TEST_CASE("keep_alive acknowledges without delivering; poll then delivers everything in order") {
  auto server = make_server();
  auto client = make_client();
  auto [cid, sid] = connect_pair(client, server);
  constexpr std::uint32_t n = 16;
  constexpr std::size_t size = 64 * 1024;
  for (std::uint32_t i = 0; i < n; ++i) REQUIRE(client.h->send(cid, pattern(i, size)).ok());
  // The server is "busy": it only calls keep_alive. The client's data must
  // still be acknowledged, or a long busy spell would end the connection.
  const auto deadline = ftsync::mono_now() + 10s;
  for (int i = 0; i < 100000 && client.h->queued_bytes(cid) > 0 && ftsync::mono_now() < deadline; ++i) {
    step({&client}, 1ms);
    server.h->keep_alive();
  }
  CHECK(client.h->queued_bytes(cid) == 0);
  CHECK(server.events.empty());  // nothing was delivered to the busy side
  REQUIRE(pump_until({&server}, [&] { return server.count(event_kind::received) == n; }));
  for (std::uint32_t i = 0; i < n; ++i) {
    auto e = server.take(event_kind::received);
    REQUIRE(e);
    CHECK(e->conn == sid);
    CHECK(e->data == pattern(i, size));
  }
}

TEST_CASE("datagrams lost at a slow receiver never wedge the connection (window spans from the oldest unacked byte)") {
  // A receiver with a tiny socket buffer that polls slowly drops datagrams;
  // it holds everything after a gap, and ENet stores (and acknowledges)
  // nothing more once it holds max_waiting_bytes, the gap's resend
  // included. The sender's window must bound that span, not just the bytes
  // not yet acknowledged, or the connection wedges for good.
  host_options rx = small_opts();
  rx.socket_buffer_bytes = 64 * 1024;
  rx.max_waiting_bytes = 512 * 1024;
  host_options tx = small_opts();
  tx.max_window_bytes = 256 * 1024;
  auto server = make_server(rx);
  auto client = make_client(tx);
  auto [cid, sid] = connect_pair(client, server);
  constexpr std::uint32_t n = 96;
  constexpr std::size_t size = 32 * 1024;
  std::uint32_t sent = 0, received = 0;
  const auto deadline = ftsync::mono_now() + 30s;
  for (int iter = 0; iter < 200000 && received < n && ftsync::mono_now() < deadline; ++iter) {
    // Like a sync push: far more queued than the window.
    while (sent < n && client.h->queued_bytes(cid) < 2 * 1024 * 1024) REQUIRE(client.h->send(cid, pattern(sent++, size)).ok());
    step({&client}, 0ms);
    if (iter % 4 == 0) std::this_thread::sleep_for(2ms);  // the slow receiver
    step({&server}, 0ms);
    while (auto e = server.take(event_kind::received)) {
      REQUIRE(e->data.size() == size);
      CHECK(e->data == pattern(received, size));
      ++received;
    }
  }
  CHECK(received == n);
  // The drops were repaired by fast retransmit (later datagrams were
  // acknowledged), not only by ENet's timers.
  CHECK(client.h->stats().fast_resends > 0);
}

TEST_CASE("1,000 mixed-size messages arrive, nothing resent early; datagrams packed to the MTU fit ENet's buffer") {
  // Before the MTU left room for the checksum, three ~1.3 KiB messages
  // packed into one 4,100-byte datagram were dropped by the receiver on
  // every resend, and this test stalled at message 356.
  auto server = make_server();
  auto client = make_client();
  auto [cid, sid] = connect_pair(client, server);
  (void)sid;
  std::uint32_t received = 0;
  for (std::uint32_t i = 0; i < 1000; ++i) {
    REQUIRE(client.h->send(cid, pattern(i, 1000 + i % 3000)).ok());
    if (i % 50 == 49) {
      // Bounded by the harness; 50 small messages never fill a socket buffer.
      const bool all = pump_until({&client, &server}, [&] {
        while (server.take(event_kind::received)) ++received;
        return received == i + 1;
      });
      REQUIRE_MESSAGE(all, received << " of " << i + 1 << " arrived");
    }
  }
  CHECK(received == 1000);
  CHECK(client.h->stats().fast_resends == 0);
  CHECK(server.h->stats().fast_resends == 0);
}

TEST_CASE("graceful disconnect reaches the other side; dead ids give errc::disconnected") {
  auto server = make_server();
  auto client = make_client();
  auto [cid, sid] = connect_pair(client, server);
  REQUIRE(client.h->send(cid, small_message(1)).ok());
  client.h->disconnect(cid);
  client.h->disconnect(cid);  // a second call waits for the same event
  CHECK(client.h->send(cid, small_message(2)).code() == errc::disconnected);
  REQUIRE(pump_until({&client, &server}, [&] {
    return server.count(event_kind::disconnected) == 1 && client.count(event_kind::disconnected) == 1;
  }));
  // Queued data was delivered before the disconnect.
  auto got = server.take(event_kind::received);
  REQUIRE(got);
  CHECK(got->data == small_message(1));
  CHECK(server.take(event_kind::disconnected)->conn == sid);
  CHECK(client.take(event_kind::disconnected)->conn == cid);

  CHECK(client.h->send(cid, small_message(3)).code() == errc::disconnected);
  CHECK(server.h->send(sid, small_message(3)).code() == errc::disconnected);
  CHECK(server.h->send(12345, small_message(3)).code() == errc::disconnected);
  CHECK(client.h->queued_bytes(cid) == 0);
  CHECK(client.h->peer_address(cid).empty());
  client.h->disconnect(cid);  // unknown id: no effect, no event
  pump_for({&client, &server}, 200ms);
  CHECK(client.events.empty());

  // Ids are never reused: the next connection gets a new one on both sides.
  auto [cid2, sid2] = connect_pair(client, server);
  CHECK(cid2 > cid);
  CHECK(sid2 > sid);
  CHECK(client.h->send(cid, small_message(4)).code() == errc::disconnected);
  CHECK(client.h->send(cid2, small_message(4)).ok());
}

TEST_CASE("disconnect(now) makes no local event; the peer still learns at once, with the reason") {
  auto server = make_server();
  auto client = make_client();
  auto [cid, sid] = connect_pair(client, server);
  server.h->disconnect(sid, true, 0xfeed);
  CHECK(server.h->send(sid, small_message(0)).code() == errc::disconnected);
  // Well under ENet's 30 s peer timeout: the DISCONNECT datagram arrived.
  REQUIRE(pump_until({&client, &server}, [&] { return client.count(event_kind::disconnected) == 1; }, 5s));
  auto gone = client.take(event_kind::disconnected);
  CHECK(gone->conn == cid);
  CHECK(gone->reason == 0xfeed);
  pump_for({&client, &server}, 100ms);
  CHECK(server.events.empty());
}

TEST_CASE("connect to a port with nothing listening ends in disconnected within the timeout") {
  std::uint16_t dead_port = 0;
  {
    auto gone = make_server();
    dead_port = gone.h->local_port();
  }
  auto opts = small_opts();
  opts.connect_timeout = 1000ms;
  auto client = make_client(opts);
  auto start = ftsync::mono_now();
  auto cid = client.h->connect(endpoint{"127.0.0.1", dead_port}, std::nullopt);
  REQUIRE(cid.ok());
  CHECK(client.h->send(*cid, small_message(0)).code() == errc::disconnected);  // not yet connected
  REQUIRE(pump_until({&client}, [&] { return !client.events.empty(); }, 5s));
  double took = ftsync::seconds_since(start);
  auto e = client.events.front();
  CHECK(e.kind == event_kind::disconnected);
  CHECK(e.conn == *cid);
  CHECK(took >= 0.9);
  CHECK(took < 3.0);  // generous: shared CI machines stall threads
  CHECK(client.h->send(*cid, small_message(0)).code() == errc::disconnected);
}

TEST_CASE("disconnect of a connection still connecting produces its event") {
  auto client = make_client();
  std::uint16_t dead_port = 0;
  {
    auto gone = make_server();
    dead_port = gone.h->local_port();
  }
  auto cid = client.h->connect(endpoint{"127.0.0.1", dead_port}, std::nullopt);
  REQUIRE(cid.ok());
  client.h->disconnect(*cid);
  auto e = client.h->poll(0ms);
  REQUIRE(e);
  CHECK(e->kind == event_kind::disconnected);
  CHECK(e->conn == *cid);
}

TEST_CASE("messages above max_packet_bytes are refused before ENet sees them") {
  auto opts = small_opts();
  opts.max_packet_bytes = 1000;
  opts.max_waiting_bytes = 4000;
  auto server = make_server(opts);
  auto client = make_client(opts);
  auto [cid, sid] = connect_pair(client, server);
  CHECK(client.h->send(cid, bytes(1001, 1)).code() == errc::too_large);
  CHECK(client.h->queued_bytes(cid) == 0);
  CHECK(client.h->send(cid, bytes(1000, 1)).ok());
  CHECK(client.h->send(cid, bytes{}).ok());  // empty messages are legal
  REQUIRE(pump_until({&client, &server}, [&] { return server.count(event_kind::received) == 2; }));
  CHECK(server.take(event_kind::received)->data.size() == 1000);
  CHECK(server.take(event_kind::received)->data.empty());
  (void)sid;
}

TEST_CASE("poll honours its timeout when nothing happens") {
  auto server = make_server();
  auto start = ftsync::mono_now();
  CHECK_FALSE(server.h->poll(0ms));
  CHECK_FALSE(server.h->poll(120ms));
  double took = ftsync::seconds_since(start);
  CHECK(took >= 0.11);
  CHECK(took < 1.0);
}

TEST_CASE("the configured MTU reaches the peers (not just the host)") {
  // ENet sends each fragment as header (4) + SEND_FRAGMENT (24) + data, so
  // the wire overhead is 28 / (mtu - 28): 0.69 % at 4096, 2.04 % at 1400.
  // lab/RESULTS.md §4: setting only host->mtu silently leaves peers at 1400.
  // One 60 KiB message fits ENet's 64 KiB window and goes out at once, on a
  // fresh connection whose RTT estimate (seeded at 500 ms) is still far too
  // high for a spurious retransmission to blur the count.
  for (std::uint32_t mtu : {4096u, 1400u}) {
    CAPTURE(mtu);
    auto opts = small_opts();
    opts.mtu = mtu;
    auto server = make_server(opts);
    auto client = make_client(opts);
    auto [cid, sid] = connect_pair(client, server);
    auto before = client.h->stats().bytes_sent;
    constexpr std::size_t payload = 60 * 1024;
    REQUIRE(client.h->send(cid, bytes(payload, 0x5A)).ok());
    REQUIRE(pump_until({&client, &server}, [&, c = cid] {
      return server.count(event_kind::received) == 1 && client.h->queued_bytes(c) == 0;
    }));
    double overhead = static_cast<double>(client.h->stats().bytes_sent - before) / payload - 1.0;
    MESSAGE("mtu " << mtu << ": wire overhead " << overhead * 100 << " %");
    if (mtu == 4096) {
      CHECK(overhead < 0.012);
    } else {
      CHECK(overhead > 0.018);
    }
    (void)sid;
  }
}

TEST_CASE("max_connections_per_ip caps connections from one source address") {
  auto opts = small_opts();
  opts.max_connections_per_ip = 2;
  opts.connect_timeout = 1000ms;
  auto server = make_server(opts);
  auto a = make_client(opts);
  auto b = make_client(opts);
  auto c = make_client(opts);
  connect_pair(a, server);
  connect_pair(b, server);
  auto third = c.h->connect(local(server), std::nullopt);
  REQUIRE(third.ok());
  REQUIRE(pump_until({&a, &b, &c, &server}, [&] { return !c.events.empty(); }, 5s));
  CHECK(c.events.front().kind == event_kind::disconnected);
  CHECK(server.count(event_kind::connected) == 0);
}

TEST_CASE("a silent peer gets one probe at a time, not the whole window every second; the transfer then recovers") {
  // The receiver stops answering (here: it is not serviced, as in a link
  // blackout). Resending every datagram in flight each time its capped
  // timer runs out would keep ~a window per second going into a dead link;
  // TCP resends one segment with a doubling timeout instead.
  host_options rx = small_opts();
  rx.socket_buffer_bytes = 8 * 1024 * 1024;  // what arrives during the silence is kept, not dropped
  host_options tx = small_opts();
  tx.max_window_bytes = 256 * 1024;
  auto server = make_server(rx);
  auto client = make_client(tx);
  auto [cid, sid] = connect_pair(client, server);
  (void)sid;
  constexpr std::uint32_t n = 64;
  constexpr std::size_t size = 64 * 1024;  // 4 MiB in all: far more than the window
  for (std::uint32_t i = 0; i < n; ++i) REQUIRE(client.h->send(cid, pattern(i, size)).ok());
  std::uint32_t received = 0;
  auto drain = [&] {
    while (auto e = server.take(event_kind::received)) {
      CHECK(e->data == pattern(received, size));
      ++received;
    }
  };
  // Let the window fill and a few messages through.
  REQUIRE(pump_until({&client, &server}, [&] { drain(); return received >= 4; }));

  // The receiver is silent for 6 s. For its first ~1.5 s the sender may
  // still send new data into the open window, and resend it once when the
  // first timers run out (before the silence is noticed: no acknowledgement
  // for the capped timeout, 1 s here).
  pump_for({&client}, 1500ms);
  const std::uint64_t before = client.h->stats().bytes_sent;
  pump_for({&client}, 4500ms);
  const std::uint64_t later = client.h->stats().bytes_sent - before;
  MESSAGE("sent into the last 4.5 s of silence: ", later, " bytes with a 256 KiB window");
  // Then one probe a second: a few datagrams of at most ~4 KiB each (with
  // every timer capped at 1 s this was ~1.1 MiB).
  CHECK(later < 32 * 1024);
  CHECK(later > 0);  // but not nothing: a probe finds out when the link is back

  const auto t0 = ftsync::mono_now();
  REQUIRE(pump_until({&client, &server}, [&] { drain(); return received == n; }, 30s));
  MESSAGE("all ", n, " messages arrived ", std::chrono::duration<double>(ftsync::mono_now() - t0).count(),
          " s after the receiver came back");
}
