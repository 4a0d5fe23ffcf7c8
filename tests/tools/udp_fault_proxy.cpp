// udp_fault_proxy: a bad link between two UDP endpoints on loopback, for the
// robustness suite (issue 5, "Bad links"). One job: forward datagrams between
// clients and one target, and on the way drop, reorder, duplicate, corrupt,
// delay them and black the link out for a while, reproducibly from a seed.
//
//   udp_fault_proxy --target 127.0.0.1:PORT --lifetime 120 [--listen 0]
//       [--loss 5] [--reorder 25] [--duplicate 5] [--corrupt 1] [--delay 200]
//       [--blackout-after-bytes N | --blackout-at S] [--blackout-for 30]
//       [--seed 1] [--record FILE] [--stats FILE] [--spread-sources 1]
//
// Percentages apply to every datagram in both directions; --delay is one-way.
// Each client source address gets an upstream socket of its own, so the
// target sees one distinct source per client, as it would without the proxy.
// With --spread-sources 1 the n-th client's upstream socket is bound to
// 127.0.2.n instead of 127.0.0.1, so clients on one machine look like
// clients on different hosts (per-address limits apply as in the field).
// Prints {"event":"listening","port":N} on stdout once ready; writes its
// counters as one JSON object to --stats when it ends. It always ends by
// itself after --lifetime seconds (at most an hour), or on SIGTERM/SIGINT.
// Only 127.0.0.0/8 targets are accepted: this is a test tool.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <queue>
#include <random>
#include <string>
#include <vector>

namespace {

using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

// A scheduled datagram is at most 64 KiB; 20,000 of them (the cap on what the
// proxy holds back) bound its memory to ~1.3 GiB in the absolute worst case
// and ~80 MiB for ENet's 4 KiB datagrams.
constexpr std::size_t k_max_queued = 20000;
// Clients beyond this many source addresses are ignored (the load tests use
// at most 50 clients through one proxy).
constexpr std::size_t k_max_clients = 256;
constexpr int k_max_lifetime_s = 3600;

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

struct options {
  std::uint16_t listen_port = 0;
  sockaddr_in target{};
  double loss = 0, reorder = 0, duplicate = 0, corrupt = 0;  // percent
  int delay_ms = 0;
  long long blackout_after_bytes = -1;  // client->target bytes before the blackout
  double blackout_at_s = -1;            // or seconds after the first datagram
  double blackout_for_s = 0;
  std::uint64_t seed = 1;
  int lifetime_s = 0;
  std::string record_file, stats_file;
  bool spread_sources = false;
};

struct stats {
  std::uint64_t up = 0, down = 0, up_bytes = 0, forwarded = 0, lost = 0, blacked_out = 0, duplicated = 0,
                corrupted = 0, reordered = 0, overflow = 0, clients = 0;
  double blackout_started = -1, blackout_ended = -1;  // seconds since start
};

struct pending {
  clock_type::time_point due;
  std::uint64_t seq;  // FIFO among equal due times
  int fd;
  sockaddr_in to;
  std::vector<unsigned char> data;
  bool operator>(const pending& o) const { return due != o.due ? due > o.due : seq > o.seq; }
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr, "udp_fault_proxy: %s\n(see the comment at the top of tests/tools/udp_fault_proxy.cpp)\n", why);
  std::exit(2);
}

double percent_arg(const char* v) {
  char* end = nullptr;
  const double d = std::strtod(v, &end);
  if (!end || *end || d < 0 || d > 100) usage("percentages are numbers from 0 to 100");
  return d;
}

long long int_arg(const char* v, long long lo, long long hi) {
  char* end = nullptr;
  const long long n = std::strtoll(v, &end, 10);
  if (!end || *end || n < lo || n > hi) usage("an integer option is out of range");
  return n;
}

options parse(int argc, char** argv) {
  options o;
  bool have_target = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) usage(("missing value for " + a).c_str());
    const char* v = argv[++i];
    if (a == "--listen") o.listen_port = static_cast<std::uint16_t>(int_arg(v, 0, 65535));
    else if (a == "--target") {
      const std::string t = v;
      const auto colon = t.rfind(':');
      if (colon == std::string::npos) usage("--target is HOST:PORT");
      o.target.sin_family = AF_INET;
      o.target.sin_port = htons(static_cast<std::uint16_t>(int_arg(t.substr(colon + 1).c_str(), 1, 65535)));
      if (inet_pton(AF_INET, t.substr(0, colon).c_str(), &o.target.sin_addr) != 1) usage("--target needs an IPv4 address");
      if ((ntohl(o.target.sin_addr.s_addr) >> 24) != 127) usage("--target must be on 127.0.0.0/8");
      have_target = true;
    } else if (a == "--loss") o.loss = percent_arg(v);
    else if (a == "--reorder") o.reorder = percent_arg(v);
    else if (a == "--duplicate") o.duplicate = percent_arg(v);
    else if (a == "--corrupt") o.corrupt = percent_arg(v);
    else if (a == "--delay") o.delay_ms = static_cast<int>(int_arg(v, 0, 10000));
    else if (a == "--blackout-after-bytes") o.blackout_after_bytes = int_arg(v, 0, 1LL << 50);
    else if (a == "--blackout-at") o.blackout_at_s = static_cast<double>(int_arg(v, 0, k_max_lifetime_s));
    else if (a == "--blackout-for") o.blackout_for_s = static_cast<double>(int_arg(v, 0, k_max_lifetime_s));
    else if (a == "--seed") o.seed = static_cast<std::uint64_t>(int_arg(v, 0, 1LL << 62));
    else if (a == "--lifetime") o.lifetime_s = static_cast<int>(int_arg(v, 1, k_max_lifetime_s));
    else if (a == "--record") o.record_file = v;
    else if (a == "--stats") o.stats_file = v;
    else if (a == "--spread-sources") o.spread_sources = int_arg(v, 0, 1) == 1;
    else usage(("unknown option " + a).c_str());
  }
  if (!have_target) usage("--target is required");
  if (o.lifetime_s == 0) usage("--lifetime is required: the proxy must stop by itself");
  return o;
}

// A UDP socket bound to 127.0.0.1:port, or to `host_ip` (host order) when set.
int udp_socket(std::uint16_t port, std::uint32_t host_ip = INADDR_LOOPBACK) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  // Large buffers: the proxy must not add loss of its own under a burst.
  // (The FORCE variants pass net.core.rmem_max when run as root.)
  const int buf = 4 << 20;
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf) != 0)
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof buf);
  if (::setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &buf, sizeof buf) != 0)
    ::setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(host_ip);
  a.sin_port = htons(port);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::uint64_t key_of(const sockaddr_in& a) {
  return (static_cast<std::uint64_t>(a.sin_addr.s_addr) << 16) | a.sin_port;
}

void write_stats(const options& o, const stats& s) {
  if (o.stats_file.empty()) return;
  FILE* f = std::fopen(o.stats_file.c_str(), "w");
  if (!f) return;
  std::fprintf(f,
               "{\"up\":%llu,\"down\":%llu,\"up_bytes\":%llu,\"forwarded\":%llu,\"lost\":%llu,\"blacked_out\":%llu,"
               "\"duplicated\":%llu,\"corrupted\":%llu,\"reordered\":%llu,\"overflow\":%llu,\"clients\":%llu,"
               "\"blackout_started\":%.3f,\"blackout_ended\":%.3f}\n",
               (unsigned long long)s.up, (unsigned long long)s.down, (unsigned long long)s.up_bytes,
               (unsigned long long)s.forwarded, (unsigned long long)s.lost, (unsigned long long)s.blacked_out,
               (unsigned long long)s.duplicated, (unsigned long long)s.corrupted, (unsigned long long)s.reordered,
               (unsigned long long)s.overflow, (unsigned long long)s.clients, s.blackout_started, s.blackout_ended);
  std::fclose(f);
}

}  // namespace

int main(int argc, char** argv) {
  const options o = parse(argc, argv);
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);

  const int listen_fd = udp_socket(o.listen_port);
  if (listen_fd < 0) {
    std::perror("udp_fault_proxy: bind");
    return 1;
  }
  sockaddr_in bound{};
  socklen_t bl = sizeof bound;
  ::getsockname(listen_fd, reinterpret_cast<sockaddr*>(&bound), &bl);
  std::printf("{\"event\":\"listening\",\"port\":%u}\n", ntohs(bound.sin_port));
  std::fflush(stdout);

  FILE* record = o.record_file.empty() ? nullptr : std::fopen(o.record_file.c_str(), "wb");
  std::mt19937_64 rng(o.seed);
  std::uniform_real_distribution<double> pct(0.0, 100.0);
  std::priority_queue<pending, std::vector<pending>, std::greater<>> queue;
  std::uint64_t seq = 0;
  stats st;

  struct client {
    sockaddr_in addr;
    int fd;
  };
  std::map<std::uint64_t, client> by_source;  // client addr -> its upstream socket
  std::map<int, sockaddr_in> by_fd;           // upstream socket -> client addr

  const auto start = clock_type::now();
  const auto end = start + std::chrono::seconds(o.lifetime_s);
  std::optional<clock_type::time_point> first_datagram;
  std::optional<clock_type::time_point> blackout_start, blackout_end;
  auto since_start = [&](clock_type::time_point t) { return std::chrono::duration<double>(t - start).count(); };

  auto in_blackout = [&](clock_type::time_point now) {
    if (o.blackout_for_s <= 0) return false;
    if (!blackout_start) {
      const bool by_bytes = o.blackout_after_bytes >= 0 && st.up_bytes >= static_cast<std::uint64_t>(o.blackout_after_bytes);
      const bool by_time = o.blackout_at_s >= 0 && first_datagram &&
                           now - *first_datagram >= std::chrono::duration<double>(o.blackout_at_s);
      if (!by_bytes && !by_time) return false;
      blackout_start = now;
      blackout_end = now + std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(o.blackout_for_s));
      st.blackout_started = since_start(now);
      std::fprintf(stderr, "udp_fault_proxy: blackout for %.0f s\n", o.blackout_for_s);
    }
    if (now < *blackout_end) return true;
    if (st.blackout_ended < 0) {
      st.blackout_ended = since_start(now);
      std::fprintf(stderr, "udp_fault_proxy: blackout over\n");
    }
    return false;
  };

  // Applies the faults to one datagram and schedules what survives.
  auto forward = [&](int fd, const sockaddr_in& to, const unsigned char* data, std::size_t len) {
    const auto now = clock_type::now();
    if (in_blackout(now)) {
      ++st.blacked_out;
      return;
    }
    if (pct(rng) < o.loss) {
      ++st.lost;
      return;
    }
    int copies = 1;
    if (pct(rng) < o.duplicate) {
      ++copies;
      ++st.duplicated;
    }
    for (int c = 0; c < copies; ++c) {
      if (queue.size() >= k_max_queued) {
        ++st.overflow;
        return;
      }
      pending p{now + std::chrono::milliseconds(o.delay_ms), seq++, fd, to, std::vector<unsigned char>(data, data + len)};
      if (pct(rng) < o.corrupt && len > 0) {
        // One to three flipped bytes anywhere: header or payload.
        const int flips = 1 + static_cast<int>(rng() % 3);
        for (int k = 0; k < flips; ++k) p.data[rng() % len] ^= static_cast<unsigned char>(1 + rng() % 255);
        ++st.corrupted;
      }
      if (pct(rng) < o.reorder) {
        // Held back long enough for later datagrams to overtake it.
        p.due += std::chrono::milliseconds(5 + static_cast<int>(rng() % 40) + o.delay_ms / 4);
        ++st.reordered;
      }
      queue.push(std::move(p));
    }
  };

  std::vector<unsigned char> buf(65536);
  while (!g_stop) {
    const auto now = clock_type::now();
    if (now >= end) break;
    while (!queue.empty() && queue.top().due <= now) {
      const pending& p = queue.top();
      if (::sendto(p.fd, p.data.data(), p.data.size(), 0, reinterpret_cast<const sockaddr*>(&p.to), sizeof p.to) >= 0)
        ++st.forwarded;
      queue.pop();
    }
    auto wake = end;
    if (!queue.empty()) wake = std::min(wake, queue.top().due);
    int timeout_ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(wake - now).count());
    timeout_ms = std::clamp(timeout_ms, 0, 1000);

    std::vector<pollfd> fds;
    fds.push_back({listen_fd, POLLIN, 0});
    for (const auto& [fd, addr] : by_fd) fds.push_back({fd, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), timeout_ms) < 0) continue;  // EINTR: re-check g_stop

    for (const auto& pfd : fds) {
      if (!(pfd.revents & POLLIN)) continue;
      // Drain what is there, bounded so one busy socket cannot starve the rest.
      for (int n = 0; n < 256; ++n) {
        sockaddr_in from{};
        socklen_t fl = sizeof from;
        const ssize_t got = ::recvfrom(pfd.fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &fl);
        if (got < 0) break;
        const auto len = static_cast<std::size_t>(got);
        if (pfd.fd == listen_fd) {
          auto it = by_source.find(key_of(from));
          if (it == by_source.end()) {
            if (by_source.size() >= k_max_clients) continue;
            // 127.0.2.1 .. 127.0.2.254, then 127.0.3.x: k_max_clients is 256.
            const auto nth = static_cast<std::uint32_t>(by_source.size());
            const std::uint32_t ip = o.spread_sources ? (127u << 24) | ((2u + nth / 254) << 8) | (1u + nth % 254)
                                                      : INADDR_LOOPBACK;
            const int up = udp_socket(0, ip);
            if (up < 0) continue;
            it = by_source.emplace(key_of(from), client{from, up}).first;
            by_fd.emplace(up, from);
            ++st.clients;
          }
          if (!first_datagram) first_datagram = clock_type::now();
          ++st.up;
          st.up_bytes += len;
          if (record) {
            const std::uint32_t l = static_cast<std::uint32_t>(len);
            std::fwrite(&l, sizeof l, 1, record);
            std::fwrite(buf.data(), 1, len, record);
            std::fflush(record);
          }
          forward(it->second.fd, o.target, buf.data(), len);
        } else {
          ++st.down;
          forward(listen_fd, by_fd.at(pfd.fd), buf.data(), len);
        }
      }
    }
  }
  if (record) std::fclose(record);
  write_stats(o, st);
  std::fprintf(stderr,
               "udp_fault_proxy: up %llu down %llu forwarded %llu lost %llu blacked-out %llu duplicated %llu "
               "corrupted %llu reordered %llu\n",
               (unsigned long long)st.up, (unsigned long long)st.down, (unsigned long long)st.forwarded,
               (unsigned long long)st.lost, (unsigned long long)st.blacked_out, (unsigned long long)st.duplicated,
               (unsigned long long)st.corrupted, (unsigned long long)st.reordered);
  return 0;
}
