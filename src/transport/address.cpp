#include "transport/address.hpp"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace ftsync::transport::detail {
namespace {

constexpr const char* k_no_v6 = "IPv6 not supported by this ENet build (Debian ENet 1.3.17 is IPv4 only)";

// getaddrinfo for one family; returns the EAI code, 0 on success.
int lookup(const std::string& name, int family, addrinfo** out) {
  addrinfo hints{};
  hints.ai_family = family;
  hints.ai_socktype = SOCK_DGRAM;
  return getaddrinfo(name.c_str(), nullptr, &hints, out);
}

}  // namespace

result<ENetAddress> resolve(const endpoint& where) {
  ENetAddress out{};
  out.port = where.port;
  if (where.host.empty()) {
    out.host = ENET_HOST_ANY;
    return out;
  }
  if (where.host.find(':') != std::string::npos) return make_error(errc::unsupported, k_no_v6);

  addrinfo* list = nullptr;
  int rc = lookup(where.host, AF_INET, &list);
  if (rc == 0) {
    for (addrinfo* ai = list; ai != nullptr; ai = ai->ai_next) {
      if (ai->ai_family == AF_INET && ai->ai_addrlen >= sizeof(sockaddr_in)) {
        out.host = reinterpret_cast<const sockaddr_in*>(ai->ai_addr)->sin_addr.s_addr;
        freeaddrinfo(list);
        return out;
      }
    }
    freeaddrinfo(list);
  }
  // Say "IPv6" rather than "unknown host" when the name only has AAAA records.
  addrinfo* v6 = nullptr;
  if (lookup(where.host, AF_INET6, &v6) == 0) {
    freeaddrinfo(v6);
    return make_error(errc::unsupported, where.host + ": " + k_no_v6);
  }
  return make_error(errc::connection_failed,
                    "cannot resolve '" + where.host + "': " + (rc != 0 ? gai_strerror(rc) : "no IPv4 address"));
}

std::string format_address(const ENetAddress& address) {
  char text[INET_ADDRSTRLEN] = {};
  in_addr a{};
  a.s_addr = address.host;
  if (inet_ntop(AF_INET, &a, text, sizeof text) == nullptr) return "?:" + std::to_string(address.port);
  return std::string(text) + ":" + std::to_string(address.port);
}

std::uint32_t route_mtu(const ENetAddress& to) {
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return 0;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = to.host;  // ENet keeps the address in network order
  sa.sin_port = htons(to.port);
  int mtu = 0;
  socklen_t len = sizeof mtu;
  // connect() on UDP sends nothing: it only picks the route.
  const bool ok = ::connect(fd, reinterpret_cast<const sockaddr*>(&sa), sizeof sa) == 0 &&
                  ::getsockopt(fd, IPPROTO_IP, IP_MTU, &mtu, &len) == 0;
  ::close(fd);
  return ok && mtu > 0 ? static_cast<std::uint32_t>(mtu) : 0;
}

}  // namespace ftsync::transport::detail
