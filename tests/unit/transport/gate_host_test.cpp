// The gate on a real listening host, probed from ftsync clients and from a
// plain UDP socket standing in for an attacker (127.0.0.1 only).
#include "unit/transport/harness.hpp"
#include "unit/transport/raw_enet.hpp"
#include "transport/gate.hpp"

#include <ftsync/util/clock.hpp>

#include <doctest/doctest.h>
#include <enet/enet.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>

using namespace ftsync::transport;
using namespace ftsync::transport::test;
using ftsync::byte;
using ftsync::bytes;

namespace {

gate_key key_of(std::uint8_t seed) {
  gate_key k{};
  for (std::size_t i = 0; i < k.size(); ++i) k[i] = static_cast<std::uint8_t>(seed * 31 + i);
  return k;
}

std::int64_t unix_now() { return ftsync::wall_now_ns() / 1'000'000'000; }

// A non-blocking UDP socket on 127.0.0.1 that is not an ENet host.
class raw_socket {
 public:
  raw_socket() {
    m_fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    REQUIRE(m_fd >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(m_fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  }
  ~raw_socket() { ::close(m_fd); }
  raw_socket(const raw_socket&) = delete;
  raw_socket& operator=(const raw_socket&) = delete;

  void send_to(std::uint16_t port, ftsync::byte_view data) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(port);
    auto n = ::sendto(m_fd, data.data(), data.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    REQUIRE(n == static_cast<ssize_t>(data.size()));
  }
  // Datagrams waiting for us (non-blocking; drains them).
  int replies() {
    int n = 0;
    byte buf[8192];
    for (int i = 0; i < 10000; ++i) {
      auto r = ::recv(m_fd, buf, sizeof buf, 0);
      if (r < 0) {
        CHECK((errno == EAGAIN || errno == EWOULDBLOCK));
        break;
      }
      ++n;
    }
    return n;
  }

 private:
  int m_fd = -1;
};

host_options gated(const gate_key& k) {
  auto o = small_opts();
  o.gate = k;
  return o;
}

// Polls the server until `quiet` passes with nothing new (or 3 s).
void settle(node& server, std::chrono::milliseconds quiet = 150ms) { pump_for({&server}, quiet); }

}  // namespace

TEST_CASE("gate: no knock, no connection; the right knock connects; a wrong key does not") {
  const auto key = key_of(1);
  auto server = make_server(gated(key));
  auto opts = small_opts();
  opts.connect_timeout = 1500ms;

  SUBCASE("no knock") {
    auto client = make_client(opts);
    auto cid = client.h->connect(local(server), std::nullopt);
    REQUIRE(cid.ok());
    REQUIRE(pump_until({&client, &server}, [&] { return !client.events.empty(); }, 5s));
    CHECK(client.events.front().kind == event_kind::disconnected);
    CHECK(server.events.empty());
    CHECK(server.h->stats().gate_dropped > 0);
    CHECK(server.h->stats().gate_admitted == 0);
  }
  SUBCASE("wrong key") {
    auto client = make_client(opts);
    auto cid = client.h->connect(local(server), key_of(2));
    REQUIRE(cid.ok());
    REQUIRE(pump_until({&client, &server}, [&] { return !client.events.empty(); }, 5s));
    CHECK(client.events.front().kind == event_kind::disconnected);
    CHECK(server.events.empty());
    CHECK(server.h->stats().gate_admitted == 0);
    // Every knock (re-sent every 500 ms) and every CONNECT retry was dropped.
    CHECK(server.h->stats().gate_dropped >= 3);
  }
  SUBCASE("right key") {
    auto client = make_client(opts);
    auto [cid, sid] = connect_pair(client, server, key);
    CHECK(server.h->stats().gate_admitted >= 1);
    REQUIRE(client.h->send(cid, bytes{1, 2, 3}).ok());
    REQUIRE(server.h->send(sid, bytes{4, 5}).ok());
    REQUIRE(pump_until({&client, &server}, [&] {
      return client.count(event_kind::received) == 1 && server.count(event_kind::received) == 1;
    }));
    CHECK(server.take(event_kind::received)->data == bytes{1, 2, 3});
    CHECK(client.take(event_kind::received)->data == bytes{4, 5});
    // Once connected the client stops knocking: admissions stay put.
    auto admitted = server.h->stats().gate_admitted;
    pump_for({&client, &server}, 1200ms);
    CHECK(server.h->stats().gate_admitted == admitted);
    CHECK(client.h->stats().gate_dropped == 0);
  }
}

TEST_CASE("gate: traffic from a connected peer keeps flowing after its 10 s admission expired") {
  const auto key = key_of(9);
  auto server = make_server(gated(key));
  auto client = make_client();
  auto [cid, sid] = connect_pair(client, server, key);
  pump_for({&client, &server}, 10500ms);
  auto dropped = server.h->stats().gate_dropped;
  REQUIRE(client.h->send(cid, bytes(20000, 7)).ok());  // fragmented: several datagrams
  REQUIRE(pump_until({&client, &server}, [&] { return server.count(event_kind::received) == 1; }));
  CHECK(server.take(event_kind::received)->data == bytes(20000, 7));
  CHECK(server.h->stats().gate_dropped == dropped);
  CHECK(server.count(event_kind::disconnected) == 0);
  (void)sid;
}

TEST_CASE("gate: a raw CONNECT gets a reply only after a fresh valid knock from the same socket") {
  const auto key = key_of(3);
  auto server = make_server(gated(key));
  const auto port = server.h->local_port();

  SUBCASE("no knock: silence") {
    raw_socket attacker;
    attacker.send_to(port, enet_connect_datagram(11));
    settle(server);
    CHECK(attacker.replies() == 0);
    CHECK(server.h->stats().gate_dropped == 1);
  }
  SUBCASE("knock 200 s old (a replay): refused, silence") {
    raw_socket attacker;
    auto old = detail::make_knock(key, unix_now() - 200);
    attacker.send_to(port, old);
    attacker.send_to(port, enet_connect_datagram(12));
    settle(server);
    CHECK(attacker.replies() == 0);
    CHECK(server.h->stats().gate_admitted == 0);
    CHECK(server.h->stats().gate_dropped == 2);
  }
  SUBCASE("knock with another key: refused, silence") {
    raw_socket attacker;
    attacker.send_to(port, detail::make_knock(key_of(4), unix_now()));
    attacker.send_to(port, enet_connect_datagram(13));
    settle(server);
    CHECK(attacker.replies() == 0);
    CHECK(server.h->stats().gate_admitted == 0);
  }
  SUBCASE("baseline, fresh valid knock: ENet answers (so the silence above is meaningful)") {
    raw_socket knocker;
    knocker.send_to(port, detail::make_knock(key, unix_now()));
    settle(server, 50ms);
    knocker.send_to(port, enet_connect_datagram(14));
    settle(server);
    CHECK(knocker.replies() >= 1);  // VERIFY_CONNECT
    CHECK(server.h->stats().gate_admitted == 1);
    // Admission is per address:port: another socket is still shut out.
    raw_socket other;
    other.send_to(port, enet_connect_datagram(15));
    settle(server);
    CHECK(other.replies() == 0);
  }
}

TEST_CASE("gate: 5,000 garbage datagrams are all dropped without a reply; a real client still connects") {
  const auto key = key_of(5);
  auto server = make_server(gated(key));
  const auto port = server.h->local_port();
  raw_socket attacker;
  std::mt19937 rng(20260501);
  constexpr int total = 5000;
  int oversize = 0;
  for (int i = 0; i < total; ++i) {
    bytes d;
    switch (i % 10) {
      case 0:  // well-formed ENet CONNECTs
        d = enet_connect_datagram(static_cast<std::uint32_t>(rng()));
        break;
      case 1: {  // knock-shaped: right magic and size, forged MAC
        d = bytes(detail::knock_size);
        for (auto& b : d) b = static_cast<byte>(rng());
        std::memcpy(d.data(), "FTK1", 4);
        break;
      }
      case 2: {  // a knock under the right key with a mangled MAC
        auto k = detail::make_knock(key, unix_now());
        k[40] ^= 1;
        d.assign(k.begin(), k.end());
        break;
      }
      case 3: {  // ENet headers that name a peer slot, random commands
        d = bytes(4 + rng() % 200);
        for (auto& b : d) b = static_cast<byte>(rng());
        d[0] = static_cast<byte>(d[0] & 0x80);
        d[1] = static_cast<byte>(rng() % 8);
        break;
      }
      default: {
        d = bytes(1 + rng() % 1400);
        for (auto& b : d) b = static_cast<byte>(rng());
        if (d.size() >= 4 && std::memcmp(d.data(), "FTK1", 4) == 0) d[0] = 0;
      }
    }
    attacker.send_to(port, d);
    if (i % 250 == 249) server.h->poll(0ms);  // drain so the kernel never drops
  }
  // A few datagrams larger than ENet's 4096-byte receive buffer: ENet itself
  // discards them (MSG_TRUNC) before the gate sees them.
  for (int i = 0; i < 20; ++i, ++oversize) attacker.send_to(port, bytes(5000, 0xAB));
  pump_until({&server}, [&] { return server.h->stats().gate_dropped >= total; }, 5s);
  settle(server);
  CHECK(server.h->stats().gate_dropped == static_cast<std::uint64_t>(total));
  CHECK(server.h->stats().gate_admitted == 0);
  CHECK(server.events.empty());
  CHECK(attacker.replies() == 0);
  CHECK(server.h->stats().bytes_sent == 0);  // the server said nothing at all

  auto client = make_client();
  auto [cid, sid] = connect_pair(client, server, key);
  CHECK(client.h->send(cid, bytes{42}).ok());
  REQUIRE(pump_until({&client, &server}, [&] { return server.count(event_kind::received) == 1; }));
  (void)sid;
  (void)oversize;
}

TEST_CASE("client hosts accept no unsolicited CONNECT (ENet 1.3.17 would give them a slot)") {
  auto client = make_client();
  raw_socket stranger;
  stranger.send_to(client.h->local_port(), enet_connect_datagram(77));
  pump_for({&client}, 200ms);
  CHECK(stranger.replies() == 0);
  CHECK(client.events.empty());
  CHECK(client.h->stats().gate_dropped == 1);
}

TEST_CASE("a listening host without a gate answers a raw CONNECT (ENet's own behaviour)") {
  auto server = make_server();
  raw_socket s;
  s.send_to(server.h->local_port(), enet_connect_datagram(5));
  pump_for({&server}, 150ms);
  CHECK(s.replies() >= 1);
}

TEST_CASE("gate: re-knocks let a connect through when the first knock was lost") {
  const auto key = key_of(6);
  std::uint16_t port = 0;
  {
    auto first = make_server(gated(key));
    port = first.h->local_port();
  }
  auto opts = small_opts();
  opts.connect_timeout = 5000ms;
  auto client = make_client(opts);
  // The first knock and CONNECT go to a closed port, i.e. are lost.
  auto cid = client.h->connect(endpoint{"127.0.0.1", port}, key);
  REQUIRE(cid.ok());
  pump_for({&client}, 300ms);
  auto again = host::listen(endpoint{"127.0.0.1", port}, gated(key));
  REQUIRE_MESSAGE(again.ok(), "port taken meanwhile; rerun");
  node server{std::move(*again), {}};
  REQUIRE(pump_until({&client, &server}, [&] { return !client.events.empty(); }, 6s));
  CHECK(client.events.front().kind == event_kind::connected);
  CHECK(server.h->stats().gate_admitted >= 1);
}
