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

// "a.b.c.d:port".
std::string format_address(const ENetAddress& address);

// Table key for an address: the IPv4 address and the port in one integer.
inline std::uint64_t address_key(const ENetAddress& a) noexcept {
  return (static_cast<std::uint64_t>(a.host) << 16) | a.port;
}

}  // namespace ftsync::transport::detail
