#pragma once
// Private to transport/: hands ENet coalesced datagrams one at a time.
//
// With UDP_GRO on a socket the kernel delivers a run of equal-sized
// datagrams from one sender as one buffer (on loopback, a UDP_SEGMENT send
// arrives whole instead of being cut up first) and says the segment size in
// a control message. ENet reads one datagram of at most 4 KiB per call, so
// enet_socket_receive (transport/enet_socket_hooks.cpp) keeps the rest of a
// run here and returns it segment by segment. UDP_GRO is switched on for a
// socket only from inside that function, i.e. once ENet is known to read
// the socket through it: a coalesced buffer never reaches ENet unsplit.
//
// Why (tests/bench/micro/udp_runs_speed.c, medians of 5): 1 GiB over
// loopback in 4,096-byte datagrams sent as 15-datagram runs cost sender +
// receiver 0.92 s of CPU with one recvmsg per datagram and 0.32 s with GRO.
#include <enet/enet.h>

#include <cstddef>
#include <cstdint>

namespace ftsync::transport::detail {

using enet_receive_fn = int (*)(ENetSocket, ENetAddress*, ENetBuffer*, std::size_t);

// enet_socket_receive's body. `plain` is ENet's own function, used when the
// socket cannot have GRO.
int batched_receive(int socket, ENetAddress* address, ENetBuffer* buffers, std::size_t buffer_count,
                    enet_receive_fn plain);

struct receive_batch_stats {
  std::uint64_t datagrams = 0;  // handed to ENet from this socket's reads
  std::uint64_t reads = 0;      // recvmsg calls that returned data
};
receive_batch_stats receive_stats(int socket);

// True when datagrams of a run wait here: ENet must not sleep on the socket.
bool receive_pending(int socket);

// The socket is being closed: its number may be reused.
void forget_receive_state(int socket);

}  // namespace ftsync::transport::detail
