#include <ftsync/transport/host.hpp>

#include "transport/address.hpp"

#include <doctest/doctest.h>

#include <string>

using ftsync::errc;
using ftsync::transport::endpoint;
using ftsync::transport::parse_endpoint;

TEST_CASE("parse_endpoint accepts names, IPv4 and bracketed IPv6, with or without a port") {
  struct row {
    std::string text;
    std::string host;
    std::uint16_t port;
  };
  const row rows[] = {
      {"example.org", "example.org", 47800},     {"example.org:9000", "example.org", 9000},
      {"127.0.0.1", "127.0.0.1", 47800},         {"127.0.0.1:1", "127.0.0.1", 1},
      {"10.0.0.2:65535", "10.0.0.2", 65535},     {"my_host-1.lan:80", "my_host-1.lan", 80},
      {"[::1]", "::1", 47800},                   {"[::1]:5000", "::1", 5000},
      {"[fe80::1:2]:443", "fe80::1:2", 443},     {"::1", "::1", 47800},
      {"2001:db8::7", "2001:db8::7", 47800},     {"localhost:00080", "localhost", 80},
  };
  for (const auto& r : rows) {
    auto e = parse_endpoint(r.text);
    REQUIRE_MESSAGE(e.ok(), r.text);
    CHECK(e->host == r.host);
    CHECK(e->port == r.port);
  }
  CHECK(parse_endpoint("host", 1234)->port == 1234);
}

TEST_CASE("parse_endpoint refuses malformed text with invalid_argument") {
  const std::string bad[] = {
      "",           ":80",          "host:",         "host:0",        "host:65536",
      "host:-1",    "host:+80",     "host:8x",       "host:123456",   "host:99999",
      "[::1",       "[::1]x",       "[::1]:",        "[::1]:0",       "[]",
      "[nothost]",  "[1.2.3.4]",    "::1:80:zz",     "a b",           "host name:80",
      "ho/st",      "user@host",    "a:b:c",         "1.2.3.4:80:90", std::string("ho\0st", 5),
      "host\n",     std::string(254, 'a'),
  };
  for (const auto& text : bad) {
    auto e = parse_endpoint(text);
    CHECK_FALSE_MESSAGE(e.ok(), text);
    CHECK(e.code() == errc::invalid_argument);
  }
}

TEST_CASE("endpoint::to_string brackets IPv6 and round-trips through parse_endpoint") {
  CHECK(endpoint{"127.0.0.1", 80}.to_string() == "127.0.0.1:80");
  CHECK(endpoint{"::1", 80}.to_string() == "[::1]:80");
  for (const char* text : {"example.org:1", "[::1]:47800", "[2001:db8::7]:9", "10.1.2.3:65535"}) {
    auto e = parse_endpoint(text);
    REQUIRE(e.ok());
    CHECK(e->to_string() == text);
  }
}

TEST_CASE("resolve: IPv4 works, IPv6 is refused with a clear message (Debian ENet 1.3.17 is IPv4 only)") {
  using ftsync::transport::detail::format_address;
  using ftsync::transport::detail::resolve;
  auto v4 = resolve(endpoint{"127.0.0.1", 4242});
  REQUIRE(v4.ok());
  CHECK(format_address(*v4) == "127.0.0.1:4242");
  auto any = resolve(endpoint{"", 1});
  REQUIRE(any.ok());
  CHECK(any->host == ENET_HOST_ANY);

  auto v6 = resolve(endpoint{"::1", 4242});
  REQUIRE_FALSE(v6.ok());
  CHECK(v6.code() == errc::unsupported);
  CHECK(v6.err().message.find("IPv6 not supported by this ENet build") != std::string::npos);

  auto none = resolve(endpoint{"no-such-host.invalid", 1});  // RFC 2606: never resolves
  CHECK(none.code() == errc::connection_failed);
}

TEST_CASE("listen and connect refuse IPv6 endpoints") {
  using namespace ftsync::transport;
  auto l = host::listen(endpoint{"::1", 0}, host_options{});
  CHECK(l.code() == errc::unsupported);
  auto c = host::client(host_options{});
  REQUIRE(c.ok());
  auto id = (*c)->connect(endpoint{"::1", 47800}, std::nullopt);
  CHECK(id.code() == errc::unsupported);
  CHECK((*c)->connect(endpoint{"0.0.0.0", 47800}, std::nullopt).code() == errc::invalid_argument);
  CHECK((*c)->connect(endpoint{"255.255.255.255", 47800}, std::nullopt).code() == errc::invalid_argument);
}

TEST_CASE("host options are validated") {
  using namespace ftsync::transport;
  auto with = [](auto change) {
    host_options o;
    change(o);
    return host::client(o).code();
  };
  CHECK(with([](host_options&) {}) == errc::ok);
  CHECK(with([](host_options& o) { o.mtu = 575; }) == errc::invalid_argument);
  CHECK(with([](host_options& o) { o.mtu = 4097; }) == errc::invalid_argument);
  CHECK(with([](host_options& o) { o.max_connections = 0; }) == errc::invalid_argument);
  CHECK(with([](host_options& o) { o.max_connections = 5000; }) == errc::invalid_argument);
  CHECK(with([](host_options& o) { o.socket_buffer_bytes = 1; }) == errc::invalid_argument);
  CHECK(with([](host_options& o) { o.max_waiting_bytes = o.max_packet_bytes - 1; }) == errc::invalid_argument);
  CHECK(with([](host_options& o) { o.connect_timeout = std::chrono::milliseconds(0); }) == errc::invalid_argument);
  CHECK(with([](host_options& o) { o.max_connections_per_ip = 0; }) == errc::invalid_argument);
}
