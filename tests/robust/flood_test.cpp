// ENet authenticates nothing (issue 5, "Hostile input"; research/security.md
// C1, C3, C7). While a legitimate push runs, the server port receives 1,000
// half-open ENet CONNECTs from 250 source addresses (127.0.1.x, as a
// spoofing attacker would send them) and 50,000 garbage datagrams: half
// random bytes from unknocked sources, half ENet-shaped datagrams from
// sources that sent a valid knock, so they get past the gate and into
// ENet's own parser. The server stays up, the running push completes, a new
// client connects during the flood, and unauthenticated senders get nothing
// back. Bounded: the attack is fixed in count and stops after 60 s at most.
#include "robust/robust.hpp"
#include "unit/transport/raw_enet.hpp"
#include "transport/gate.hpp"

#include <ftsync/crypto/keys.hpp>
#include <ftsync/session/client.hpp>
#include <ftsync/util/clock.hpp>

#include <doctest/doctest.h>
#include <enet/enet.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <random>
#include <thread>

using namespace robust;

namespace {

constexpr std::uint64_t k_mib = 1024 * 1024;

// A non-blocking UDP socket bound to 127.0.1.<host> (any 127/8 address is
// local on Linux), standing in for one attacking source.
struct raw_socket {
  int fd = -1;
  explicit raw_socket(int host) {
    fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    REQUIRE(fd >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl((127u << 24) | (0u << 16) | (1u << 8) | static_cast<unsigned>(host));
    REQUIRE_MESSAGE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0, "cannot bind 127.0.1.x");
  }
  ~raw_socket() { ::close(fd); }
  raw_socket(const raw_socket&) = delete;
  raw_socket& operator=(const raw_socket&) = delete;
  std::size_t sent = 0;
  void send_to(std::uint16_t port, const void* data, std::size_t len) {
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons(port);
    if (::sendto(fd, data, len, 0, reinterpret_cast<sockaddr*>(&to), sizeof to) == static_cast<ssize_t>(len)) sent += len;
  }
  std::size_t received_bytes() const {
    std::size_t n = 0;
    char buf[8192];
    for (int i = 0; i < 100000; ++i) {
      const auto r = ::recv(fd, buf, sizeof buf, 0);
      if (r < 0) break;
      n += static_cast<std::size_t>(r);
    }
    return n;
  }
};

// Random bytes shaped like an ENet datagram: a plausible header (peer ids
// 0-127, flags random) and random commands. Past the gate, ENet now drops
// them at its checksum (which needs the peer's connect id) before parsing.
std::vector<unsigned char> enet_shaped(std::mt19937_64& rng) {
  std::vector<unsigned char> d(4 + rng() % 1200);
  for (auto& b : d) b = static_cast<unsigned char>(rng());
  const std::uint16_t peer = static_cast<std::uint16_t>((rng() % 128) | (rng() % 2 ? ENET_PROTOCOL_HEADER_FLAG_SENT_TIME : 0));
  d[0] = static_cast<unsigned char>(peer >> 8);
  d[1] = static_cast<unsigned char>(peer);
  if (d.size() > 4) d[4] = static_cast<unsigned char>(1 + rng() % 12);  // a real command number
  return d;
}

struct attack_report {
  std::size_t connects = 0, garbage = 0, sent_bytes = 0, reply_bytes_unknocked = 0;
  double seconds = 0;
};

// The attack itself; stops early when `stop` is set or after 60 s.
attack_report attack(std::uint16_t port, const ftsync::transport::gate_key& key, const std::atomic<bool>& stop) {
  using clock_type = std::chrono::steady_clock;
  const auto t0 = clock_type::now();
  const auto deadline = t0 + 60s;
  std::mt19937_64 rng(20261123);
  attack_report rep;
  std::vector<std::unique_ptr<raw_socket>> spoofed;  // never knock
  for (int i = 1; i <= 250; ++i) spoofed.push_back(std::make_unique<raw_socket>(i));
  std::vector<std::unique_ptr<raw_socket>> knocked;  // pass the gate, then send junk
  for (int i = 0; i < 10; ++i) knocked.push_back(std::make_unique<raw_socket>(251 + i % 4));
  auto knock_all = [&] {
    for (auto& s : knocked) {
      const auto k = ftsync::transport::detail::make_knock(key, ftsync::wall_now_ns() / 1'000'000'000);
      s->send_to(port, k.data(), k.size());
    }
  };

  // 1,000 half-open CONNECTs: 4 per spoofed source, never answered.
  for (int i = 0; i < 1000 && !stop && clock_type::now() < deadline; ++i) {
    const auto d = ftsync::transport::test::enet_connect_datagram(static_cast<std::uint32_t>(rng()), 2);
    spoofed[static_cast<std::size_t>(i) % spoofed.size()]->send_to(port, d.data(), d.size());
    ++rep.connects;
  }
  // 50,000 garbage datagrams, in bursts so the legitimate traffic interleaves.
  knock_all();
  for (int i = 0; i < 50000 && !stop && clock_type::now() < deadline; ++i) {
    if (i % 2 == 0) {
      std::vector<unsigned char> d(1 + rng() % 1400);
      for (auto& b : d) b = static_cast<unsigned char>(rng());
      spoofed[rng() % spoofed.size()]->send_to(port, d.data(), d.size());
    } else {
      const auto d = enet_shaped(rng);
      knocked[rng() % knocked.size()]->send_to(port, d.data(), d.size());
    }
    ++rep.garbage;
    if (i % 5000 == 4999) knock_all();  // stay admitted (10 s ttl)
    if (i % 500 == 499) std::this_thread::sleep_for(5ms);
  }
  std::this_thread::sleep_for(500ms);
  for (auto& s : spoofed) {
    rep.sent_bytes += s->sent;
    rep.reply_bytes_unknocked += s->received_bytes();
  }
  rep.seconds = std::chrono::duration<double>(clock_type::now() - t0).count();
  return rep;
}

}  // namespace

TEST_CASE("1000 half-open CONNECTs and 50000 garbage datagrams during a transfer: server up and transfer complete") {
  pair_setup p("flood");
  const auto server_key = ftsync::crypto::parse_id(p.srv.id());
  REQUIRE(server_key.ok());
  const auto gate = ftsync::session::gate_key_for(*server_key);
  const fs::path src = p.dir / "big.bin";
  // Paced so that it outlasts the attack on any machine: 64 MiB at 4 MB/s
  // takes ~16 s, the attack and the second push ~3 s. (Unpaced, a 256 MiB
  // push once finished first on a fast CI machine.)
  write_random_file(src, 64 * k_mib, 3);
  const fs::path src2 = p.dir / "second.bin";
  write_random_file(src2, 8 * k_mib, 4);

  background push(p.cli, "push-during-flood", {"--json", "push", "--bwlimit", "4M", src.string(), "srv:/in"});
  // Connected and moving data before the attack starts.
  REQUIRE_MESSAGE(wait_until([&] { return largest_partial(p.root / "in") > 4 * k_mib || !push.proc->running(); }, 60s),
                  push.text());
  REQUIRE_MESSAGE(push.proc->running(), ("the push ended before the attack could start\n" + push.text()));

  std::atomic<bool> stop{false};
  attack_report rep;
  std::thread attacker([&] { rep = attack(p.serve->port(), gate, stop); });
  // A new client connects and completes during the flood.
  std::this_thread::sleep_for(300ms);
  auto second = p.c({"push", src2.string(), "srv:/in2"}, 60s);
  attacker.join();
  const bool push_outlived_attack = push.proc->running();

  MESSAGE("attack: ", rep.connects, " CONNECTs + ", rep.garbage, " garbage datagrams in ", rep.seconds,
          " s; unknocked sources sent ", rep.sent_bytes, " bytes and got ", rep.reply_bytes_unknocked, " back");
  CHECK(rep.connects == 1000);
  CHECK(rep.garbage == 50000);
  CHECK_MESSAGE(rep.reply_bytes_unknocked == 0, "the server answered unauthenticated sources (reflection)");
  CHECK_MESSAGE(second.exit_code == 0, ("a new client could not push during the flood\n" + describe(second)));
  CHECK(same_content(src2, p.root / "in2" / "second.bin"));

  CHECK_MESSAGE(push_outlived_attack, "the first push ended before the attack did: make it larger");
  const int code = push.wait(180s);
  CHECK_MESSAGE(code == 0, ("the push running during the flood failed\n" + push.text()));
  CHECK(same_content(src, p.root / "in" / "big.bin"));
  CHECK(p.serve->running());
  const auto hwm = peak_rss_kib(p.serve->pid());
  MESSAGE("server peak RSS after the flood: ", hwm / 1024, " MiB");
  auto ls = p.c({"ls", "srv:/"}, 10s);
  CHECK_MESSAGE(ls.exit_code == 0, describe(ls));
  CHECK_MESSAGE(ls.seconds < 5, describe(ls));
}

// research/security.md C1/C2 with the stronger attacker: the server id is
// not secret from peers, so anyone who has it can knock. 1,000 knocked
// half-open CONNECTs (4 from each of 250 addresses, never completed) take
// ENet peer slots until they time out. The server must stay up and a new
// legitimate client must get in within 15 s; the time it took is reported.
// (It was ~32 s, ENet's default for a half-open peer; a listener now drops
// them after 3 s, and a new client got in after 3.5 s, at its first try.)
TEST_CASE("1000 knocked half-open CONNECTs from someone who knows the server id") {
  pair_setup p("knocked-flood");
  const auto server_key = ftsync::crypto::parse_id(p.srv.id());
  REQUIRE(server_key.ok());
  const auto gate = ftsync::session::gate_key_for(*server_key);
  std::mt19937_64 rng(7);
  std::vector<std::unique_ptr<raw_socket>> socks;
  for (int i = 1; i <= 250; ++i) socks.push_back(std::make_unique<raw_socket>(i));
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 1000; ++i) {
    auto& s = *socks[static_cast<std::size_t>(i) % socks.size()];
    if (i < 250) {
      const auto k = ftsync::transport::detail::make_knock(gate, ftsync::wall_now_ns() / 1'000'000'000);
      s.send_to(p.serve->port(), k.data(), k.size());
    }
    const auto d = ftsync::transport::test::enet_connect_datagram(static_cast<std::uint32_t>(rng()), 2);
    s.send_to(p.serve->port(), d.data(), d.size());
  }
  // A new client, retried until it gets in (each try bounded by its own
  // connect timeout).
  run_result ls;
  double first_ok = -1;
  int tries = 0;
  while (std::chrono::steady_clock::now() - t0 < 60s) {
    ++tries;
    ls = p.c({"ls", "srv:/"}, 30s);
    if (ls.exit_code == 0) {
      first_ok = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      break;
    }
  }
  std::size_t replies = 0;
  for (auto& s : socks) replies += s->received_bytes();
  MESSAGE("knocked flood: a new client got in after ", first_ok, " s (", tries, " tries); the 250 knocking sources got ",
          replies, " bytes of ENet replies; last try:\n", describe(ls));
  CHECK(p.serve->running());
  CHECK_MESSAGE(first_ok >= 0, "no new client got in within 60 s of the knocked flood");
  CHECK_MESSAGE(first_ok < 15, "half-open CONNECTs held the server's slots for too long");
}
