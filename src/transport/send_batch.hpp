#pragma once
// Private to transport/: batches the datagrams ENet sends during one call
// into it, and sends runs of equal-sized datagrams to the same peer with one
// sendmsg each (UDP generic segmentation offload, UDP_SEGMENT).
//
// ENet 1.3.17 sends every datagram with its own sendmsg and has no hook for
// the socket layer, but it calls its own socket functions through the PLT,
// so this module defines enet_socket_send and enet_socket_wait (exported
// from the executable, see CMakeLists.txt) and hands every call outside a
// batch to ENet's originals. Inside a batch, sends are copied into a 64 KiB
// buffer and leave when the run ends, the buffer is full, ENet is about to
// wait on the socket, or the batch closes: always before ENet can wait for
// an answer to them.
//
// Why: on loopback one sendmsg per 4 KiB datagram cost a sender 1.17 s of
// CPU per GiB, one per 15-datagram GSO run 0.23 s (1,472-byte datagrams,
// as at 20 ms in the benchmark: 3.13 s against 0.45 s). A send the kernel
// refuses is a lost datagram to ENet, which resends it as it would any loss.
#include <netinet/in.h>

#include <cstddef>
#include <cstdint>

namespace ftsync::transport::detail {

struct send_batch_stats {
  std::uint64_t datagrams = 0;  // sent through a batch
  std::uint64_t sends = 0;      // sendmsg calls they took
  std::uint64_t failed = 0;     // datagrams the kernel refused (lost)
};

// The run of datagrams a batch holds (send_batch.cpp's buffer).
struct batch_state {
  int socket = -1;
  send_batch_stats* stats = nullptr;
  sockaddr_in to{};
  std::size_t segment = 0;  // size of every datagram in the run but the last
  std::size_t count = 0;
  std::size_t used = 0;
  bool ended_short = false;  // a shorter datagram must be the run's last
};

// Batches ENet's sends on `socket` for this thread until destroyed. Nests:
// an inner batch on the same thread flushes into the outer one's counters.
class send_batch {
 public:
  send_batch(int socket, send_batch_stats& stats);
  ~send_batch();
  send_batch(const send_batch&) = delete;
  send_batch& operator=(const send_batch&) = delete;

 private:
  batch_state m_state;
  batch_state* m_prev;
};

}  // namespace ftsync::transport::detail
