// Endpoint text syntax only; name resolution happens in address.cpp when a
// host binds or connects, so parsing never blocks on DNS.
#include <ftsync/transport/host.hpp>

#include <arpa/inet.h>

#include <charconv>

namespace ftsync::transport {
namespace {

// RFC 1035 limits a full name to 253 characters in text form.
constexpr std::size_t k_max_host_chars = 253;

bool is_v6_literal(std::string_view text) {
  // inet_pton needs a NUL-terminated string; INET6_ADDRSTRLEN is 46.
  if (text.empty() || text.size() >= INET6_ADDRSTRLEN) return false;
  char buf[INET6_ADDRSTRLEN] = {};
  text.copy(buf, text.size());
  in6_addr out{};
  return inet_pton(AF_INET6, buf, &out) == 1;
}

// Names and IPv4 literals: letters, digits, '-', '.', '_' (the last appears
// in some local names). Anything else (spaces, '@', '/', control bytes) is a
// typo or an attempt to smuggle text into logs and resolvers.
bool is_host_name(std::string_view text) {
  if (text.empty() || text.size() > k_max_host_chars) return false;
  for (char c : text) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_';
    if (!ok) return false;
  }
  return true;
}

result<std::uint16_t> parse_port(std::string_view text) {
  // At most 5 digits: "000080" is more likely a typo than intent.
  if (text.empty() || text.size() > 5) return make_error(errc::invalid_argument, "bad port");
  unsigned value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size() || value < 1 || value > 65535)
    return make_error(errc::invalid_argument, "port must be 1-65535");
  return static_cast<std::uint16_t>(value);
}

}  // namespace

std::string endpoint::to_string() const {
  std::string port_text = std::to_string(port);
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + port_text;
  return host + ":" + port_text;
}

result<endpoint> parse_endpoint(std::string_view text, std::uint16_t default_port) {
  endpoint out;
  out.port = default_port;
  auto bad = [&](const char* why) {
    return make_error(errc::invalid_argument, std::string("endpoint: ") + why);
  };
  if (text.empty()) return bad("empty");

  if (text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string_view::npos) return bad("missing ']'");
    std::string_view inside = text.substr(1, close - 1);
    if (!is_v6_literal(inside)) return bad("not an IPv6 address inside [ ]");
    out.host = std::string(inside);
    std::string_view rest = text.substr(close + 1);
    if (rest.empty()) return out;
    if (rest.front() != ':') return bad("junk after ']'");
    auto port = parse_port(rest.substr(1));
    if (!port) return port.err();
    out.port = *port;
    return out;
  }

  auto first = text.find(':');
  if (first == std::string_view::npos) {
    if (!is_host_name(text)) return bad("invalid host name");
    out.host = std::string(text);
    return out;
  }
  if (text.find(':', first + 1) != std::string_view::npos) {
    // Two or more colons: a bare IPv6 literal, which cannot carry a port
    // ("::1:80" would be ambiguous).
    if (!is_v6_literal(text)) return bad("invalid IPv6 address (use [addr]:port for a port)");
    out.host = std::string(text);
    return out;
  }
  std::string_view name = text.substr(0, first);
  if (!is_host_name(name)) return bad("invalid host name");
  auto port = parse_port(text.substr(first + 1));
  if (!port) return port.err();
  out.host = std::string(name);
  out.port = *port;
  return out;
}

}  // namespace ftsync::transport
