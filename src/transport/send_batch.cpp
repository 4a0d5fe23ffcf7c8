#include "transport/send_batch.hpp"

#include "transport/address.hpp"

#include <enet/enet.h>

#include <netinet/in.h>
#include <netinet/udp.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103  // linux/udp.h, Linux 4.18+
#endif

namespace ftsync::transport::detail {
namespace {

// The largest UDP payload of one IPv4 send, and the kernel's segment limit
// (UDP_MAX_SEGMENTS, 64 in every kernel that has UDP_SEGMENT).
constexpr std::size_t k_max_batch_bytes = 65507;
constexpr std::size_t k_max_segments = 64;

// Set once a kernel or route refuses UDP_SEGMENT (EIO without checksum
// offload, for instance): from then on a batch goes out datagram by datagram.
std::atomic<bool> g_segmentation_refused{false};

thread_local batch_state* t_active = nullptr;
thread_local std::array<unsigned char, k_max_batch_bytes> t_buffer;

sockaddr_in to_sockaddr(const ENetAddress& a) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(a.port);
  sin.sin_addr.s_addr = a.host;
  return sin;
}

// One sendmsg; with `segment` > 0 the kernel cuts the payload into datagrams
// of that size (the last may be shorter).
bool send_one(int socket, const ENetAddress& to, const unsigned char* data, std::size_t len, std::size_t segment) {
  iovec iov{const_cast<unsigned char*>(data), len};
  msghdr msg{};
  sockaddr_in name = to_sockaddr(to);
  msg.msg_name = &name;
  msg.msg_namelen = sizeof name;
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) unsigned char control[CMSG_SPACE(sizeof(std::uint16_t))] = {};
  if (segment > 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    cmsghdr* cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_UDP;
    cm->cmsg_type = UDP_SEGMENT;
    cm->cmsg_len = CMSG_LEN(sizeof(std::uint16_t));
    const auto seg = static_cast<std::uint16_t>(segment);
    std::memcpy(CMSG_DATA(cm), &seg, sizeof seg);
  }
  return sendmsg(socket, &msg, MSG_NOSIGNAL) >= 0;
}

void flush(batch_state& b) {
  if (b.count == 0) return;
  send_batch_stats& st = *b.stats;
  st.datagrams += b.count;
  bool one_by_one = b.count == 1 || g_segmentation_refused.load(std::memory_order_relaxed);
  if (!one_by_one) {
    st.sends++;
    if (!send_one(b.socket, b.to, t_buffer.data(), b.used, b.segment)) {
      if (errno == EIO || errno == EINVAL || errno == ENOPROTOOPT || errno == EOPNOTSUPP) {
        g_segmentation_refused.store(true, std::memory_order_relaxed);
        one_by_one = true;
      } else {
        st.failed += b.count;  // EAGAIN, ENOBUFS...: lost, ENet resends
      }
    }
  }
  if (one_by_one) {
    for (std::size_t off = 0; off < b.used; off += b.segment) {
      const std::size_t len = std::min(b.segment, b.used - off);
      st.sends++;
      if (!send_one(b.socket, b.to, t_buffer.data() + off, len, 0)) st.failed++;
    }
  }
  b.count = 0;
  b.used = 0;
  b.segment = 0;
}

}  // namespace

send_batch::send_batch(int socket, send_batch_stats& stats) : m_prev(t_active) {
  // Only one run is buffered per thread: an outer batch's datagrams leave
  // first, so nothing overtakes what was sent before it.
  if (m_prev != nullptr) flush(*m_prev);
  m_state.socket = socket;
  m_state.stats = &stats;
  t_active = &m_state;
}

send_batch::~send_batch() {
  flush(m_state);
  t_active = m_prev;
}

int batched_send(int socket, const ENetAddress* address, const ENetBuffer* buffers, std::size_t buffer_count,
                 enet_send_fn unbatched) {
  batch_state* b = t_active;
  std::size_t len = 0;
  for (std::size_t i = 0; i < buffer_count; ++i) len += buffers[i].dataLength;
  if (b == nullptr || b->socket != socket || address == nullptr || len == 0 || len > k_max_batch_bytes) {
    if (b != nullptr && b->socket == socket) flush(*b);
    return unbatched(socket, address, buffers, buffer_count);
  }
  const bool run_ended = b->used != b->count * b->segment;
  if (b->count > 0 && (address_key(b->to) != address_key(*address) || len > b->segment || run_ended ||
                       b->count == k_max_segments || b->used + len > k_max_batch_bytes))
    flush(*b);
  if (b->count == 0) {
    b->to = *address;
    b->segment = len;
  }
  for (std::size_t i = 0; i < buffer_count; ++i) {
    std::memcpy(t_buffer.data() + b->used, buffers[i].data, buffers[i].dataLength);
    b->used += buffers[i].dataLength;
  }
  b->count++;
  return static_cast<int>(len);
}

void flush_send_batch(int socket) {
  if (batch_state* b = t_active; b != nullptr && b->socket == socket) flush(*b);
}

}  // namespace ftsync::transport::detail
