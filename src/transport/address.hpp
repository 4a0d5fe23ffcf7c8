#pragma once
// Endpoint -> ENetAddress. Debian's ENet 1.3.17 is IPv4 only: ENetAddress
// holds one enet_uint32 and enet_socket_send builds a sockaddr_in, so IPv6
// endpoints are refused here with errc::unsupported instead of failing later.
#include <ftsync/transport/host.hpp>

#include <enet/enet.h>

#include <cstdint>
#include <string>

namespace ftsync::transport::detail {

// Resolves `where.host` to one IPv4 address (blocking DNS for names). An empty
// host means "any" (for listen). Errors: unsupported (IPv6), connection_failed
// (name does not resolve).
result<ENetAddress> resolve(const endpoint& where);

// The MTU of the local route to `to` (the kernel's IP_MTU for a connected
// UDP socket), or 0 when it cannot be learnt. Datagrams above it are split
// into IP fragments; one lost fragment loses the datagram, and orphaned
// fragments fill the reassembly memory (4 MiB, held 30 s), after which
// every fragmented datagram is dropped: a 30-second blackout, measured at
// 100 ms RTT + 1% loss with 4096-byte datagrams on a 1500-byte path.
std::uint32_t route_mtu(const ENetAddress& to);

// "a.b.c.d:port".
std::string format_address(const ENetAddress& address);

// Table key for an address: the IPv4 address and the port in one integer.
inline std::uint64_t address_key(const ENetAddress& a) noexcept {
  return (static_cast<std::uint64_t>(a.host) << 16) | a.port;
}

}  // namespace ftsync::transport::detail
