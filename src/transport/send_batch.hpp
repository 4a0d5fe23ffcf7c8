#pragma once
// Private to transport/: batches the datagrams ENet sends during one call
// into it, and sends runs of equal-sized datagrams to the same peer with one
// sendmsg each (UDP generic segmentation offload, UDP_SEGMENT). Reached
// through ENet's own enet_socket_send (transport/enet_socket_hooks.cpp).
// Inside a batch, sends are copied into a 64 KiB buffer and leave when the
// run ends, the buffer is full, ENet is about to wait on the socket, or the
// batch closes: always before ENet can wait for an answer to them.
//
// Why (tests/bench/micro/udp_runs_speed.c, 1 GiB over loopback, medians of
// 5): one sendmsg per 4,096-byte datagram cost the sender 1.32 s of CPU,
// one per 15-datagram run 0.61 s; in 1,472-byte datagrams, as at 20 ms in
// the benchmark, 2.58 s against 0.67 s. A send the kernel
// refuses is a lost datagram to ENet, which resends it as it would any loss.
#include <enet/enet.h>

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
  ENetAddress to{};
  std::size_t segment = 0;  // size of every datagram in the run but the last
  std::size_t count = 0;
  std::size_t used = 0;     // < count * segment: a shorter datagram ended the run
};

using enet_send_fn = int (*)(ENetSocket, const ENetAddress*, const ENetBuffer*, std::size_t);

// enet_socket_send's body: buffers the datagram when a batch on `socket` is
// open on this thread, otherwise (and for what cannot be batched) calls
// `unbatched`. Returns what ENet expects: the length, or <= 0 from unbatched.
int batched_send(int socket, const ENetAddress* address, const ENetBuffer* buffers, std::size_t buffer_count,
                 enet_send_fn unbatched);

// Sends what this thread's batch on `socket` holds (ENet is about to wait).
void flush_send_batch(int socket);

// Batches ENet's sends on `socket` for this thread until destroyed. Nests:
// opening an inner batch first sends what the outer one holds, so nothing
// overtakes a datagram ENet sent earlier.
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
