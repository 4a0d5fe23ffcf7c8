#include "transport/receive_batch.hpp"

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_map>

#ifndef UDP_GRO
#define UDP_GRO 104  // linux/udp.h, Linux 5.0+
#endif

namespace ftsync::transport::detail {
namespace {

// What one socket has read but ENet has not yet taken. Only the thread
// that services the socket touches its entry; the map itself is shared.
enum class gro { untried, on, refused };

struct socket_runs {
  gro coalescing = gro::untried;
  sockaddr_in from{};
  std::size_t len = 0;
  std::size_t off = 0;
  std::size_t segment = 0;
  receive_batch_stats stats;
  std::array<unsigned char, 65536> buf;
};

std::mutex g_mutex;
std::unordered_map<int, std::unique_ptr<socket_runs>> g_sockets;

socket_runs& runs_for(int socket) {
  std::lock_guard lock(g_mutex);
  auto& entry = g_sockets[socket];
  if (!entry) entry = std::make_unique<socket_runs>();
  return *entry;
}

// Reads the next datagram or run into `r`; ENet's return convention: 0 when
// nothing is waiting, -1 on an error.
int read_run(int socket, socket_runs& r) {
  iovec iov{r.buf.data(), r.buf.size()};
  alignas(cmsghdr) unsigned char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_name = &r.from;
  msg.msg_namelen = sizeof r.from;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  const ssize_t got = recvmsg(socket, &msg, MSG_NOSIGNAL);
  if (got < 0) return errno == EWOULDBLOCK || errno == EAGAIN ? 0 : -1;
  r.stats.reads++;
  r.len = (msg.msg_flags & MSG_TRUNC) != 0 ? 0 : static_cast<std::size_t>(got);
  r.off = 0;
  r.segment = r.len;
  for (cmsghdr* cm = CMSG_FIRSTHDR(&msg); cm != nullptr; cm = CMSG_NXTHDR(&msg, cm)) {
    if (cm->cmsg_level != SOL_UDP || cm->cmsg_type != UDP_GRO) continue;
    int seg = 0;
    std::memcpy(&seg, CMSG_DATA(cm), sizeof seg);
    if (seg > 0) r.segment = static_cast<std::size_t>(seg);
  }
  return 1;
}

}  // namespace

int batched_receive(int socket, ENetAddress* address, ENetBuffer* buffers, std::size_t buffer_count,
                    enet_receive_fn plain) {
  socket_runs& r = runs_for(socket);
  if (r.coalescing == gro::untried) {
    const int one = 1;
    r.coalescing = setsockopt(socket, SOL_UDP, UDP_GRO, &one, sizeof one) == 0 ? gro::on : gro::refused;
  }
  if (r.coalescing != gro::on) return plain(socket, address, buffers, buffer_count);
  for (;;) {
    if (r.off < r.len) {
      const std::size_t at = r.off;
      const std::size_t n = std::min(r.segment, r.len - at);
      r.off += n;
      // Larger than ENet's buffer: dropped, as ENet drops a truncated datagram.
      if (buffer_count < 1 || buffers[0].dataLength < n) continue;
      std::memcpy(buffers[0].data, r.buf.data() + at, n);
      r.stats.datagrams++;
      if (address != nullptr) {
        address->host = r.from.sin_addr.s_addr;
        address->port = ntohs(r.from.sin_port);
      }
      return static_cast<int>(n);
    }
    if (const int rc = read_run(socket, r); rc <= 0) return rc;
  }
}

receive_batch_stats receive_stats(int socket) {
  std::lock_guard lock(g_mutex);
  auto it = g_sockets.find(socket);
  return it == g_sockets.end() ? receive_batch_stats{} : it->second->stats;
}

bool receive_pending(int socket) {
  std::lock_guard lock(g_mutex);
  auto it = g_sockets.find(socket);
  return it != g_sockets.end() && it->second->off < it->second->len;
}

void forget_receive_state(int socket) {
  std::lock_guard lock(g_mutex);
  g_sockets.erase(socket);
}

}  // namespace ftsync::transport::detail
