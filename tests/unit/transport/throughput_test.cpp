// Not a benchmark (the bound is generous): checks that a bounded-queue sender
// streams 64 MiB completely, and reports the rate seen on this machine.
#include "unit/transport/harness.hpp"

#include <doctest/doctest.h>

#include <cstring>

using namespace ftsync::transport;
using namespace ftsync::transport::test;
using ftsync::bytes;

TEST_CASE("throughput: 64 MiB with queued_bytes <= 4 MiB arrives complete") {
  auto server = make_server();
  auto client = make_client();
  auto [cid, sid] = connect_pair(client, server);
  constexpr std::size_t total = 64u << 20;
  constexpr std::size_t block = 128 * 1024;  // limits::block_size
  constexpr std::size_t window = 4u << 20;   // limits::send_window_bytes
  bytes msg(block);
  std::size_t sent = 0;
  std::size_t received = 0;
  std::uint64_t next_expected = 0;
  bool in_order = true;
  std::size_t max_queued = 0;
  const auto start = ftsync::mono_now();
  const auto deadline = start + 60s;
  for (int iter = 0; iter < 5'000'000 && received < total && ftsync::mono_now() < deadline; ++iter) {
    while (sent < total && client.h->queued_bytes(cid) + block <= window) {
      std::uint64_t seq = sent / block;
      std::memcpy(msg.data(), &seq, sizeof seq);
      REQUIRE(client.h->send(cid, msg).ok());
      sent += block;
    }
    max_queued = std::max(max_queued, client.h->queued_bytes(cid));
    client.h->poll(0ms);  // acks; the client receives no data
    for (int i = 0; i < 64; ++i) {
      auto e = server.h->poll(0ms);
      if (!e) break;
      if (e->kind != event_kind::received) continue;
      std::uint64_t seq = 0;
      if (e->data.size() == block) std::memcpy(&seq, e->data.data(), sizeof seq);
      in_order = in_order && e->conn == sid && e->data.size() == block && seq == next_expected;
      ++next_expected;
      received += e->data.size();
    }
  }
  double secs = ftsync::seconds_since(start);
  double overhead = static_cast<double>(client.h->stats().bytes_sent) / total - 1.0;
  CHECK(received == total);
  CHECK(in_order);
  CHECK(max_queued <= window);
  MESSAGE("64 MiB in " << secs << " s = " << (static_cast<double>(total) / 1e6 / secs)
                       << " MB/s (one ENet connection, MTU 4096, loopback, one thread polling both ends), wire overhead "
                       << overhead * 100 << " %");
}
