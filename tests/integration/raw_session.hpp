#pragma once
// A trusted peer that runs the handshake with a real `ftsync serve` by hand
// and then seals whatever frames a test builds (tampered, replayed, random,
// oversize): research/security.md A1, A7, B4. Shared by the integration and
// robustness suites.
#include "integration/harness.hpp"

#include <ftsync/crypto/channel.hpp>
#include <ftsync/crypto/handshake.hpp>
#include <ftsync/crypto/keys.hpp>
#include <ftsync/session/client.hpp>
#include <ftsync/transport/host.hpp>
#include <ftsync/wire/codec.hpp>

#include <doctest/doctest.h>

#include <optional>
#include <thread>

namespace integ {

namespace raw_detail {
namespace w = ftsync::wire;
namespace crypto = ftsync::crypto;
namespace transport = ftsync::transport;

// A session whose every sealed frame the test builds itself.
class raw_session {
 public:
  // `o` lets a test raise the client's own packet limits to send frames
  // the server must refuse; a non-empty `local_address` (any 127/8 address)
  // is the source, so many sessions stay under the server's per-address cap.
  raw_session(const crypto::identity& me, const crypto::public_key& server, std::uint16_t port,
              transport::host_options o = {}, const std::string& local_address = {}) {
    o.max_connections = 1;
    auto h = local_address.empty() ? transport::host::client(o)
                                   : transport::host::listen(transport::endpoint{local_address, 0}, o);
    REQUIRE(h.ok());
    m_host = std::move(*h);
    auto c = m_host->connect(transport::endpoint{"127.0.0.1", port}, ftsync::session::gate_key_for(server));
    REQUIRE(c.ok());
    m_conn = *c;
    REQUIRE_MESSAGE(wait_event(transport::event_kind::connected).has_value(), "no transport connection");

    crypto::initiator hs(me);
    const auto hello = hs.start();
    REQUIRE(m_host->send(m_conn, w::encode(w::hello{hello.version, hello.ephemeral})).ok());
    auto reply_frame = wait_event(transport::event_kind::received);
    REQUIRE(reply_frame.has_value());
    auto reply = w::decode(reply_frame->data, w::handshake_limits());
    REQUIRE(reply.ok());
    const auto* hr = std::get_if<w::hello_reply>(&*reply);
    REQUIRE(hr != nullptr);
    crypto::hello_reply r;
    r.version = hr->version;
    r.ephemeral = hr->ephemeral;
    r.identity.bytes = hr->identity;
    r.sig = hr->signature;
    auto auth = hs.on_reply(r);
    REQUIRE(auth.ok());
    REQUIRE(m_host->send(m_conn, w::encode(w::auth{auth->sealed})).ok());
    const auto keys = hs.keys();
    m_tx.emplace(keys.send, 0);
    m_rx.emplace(keys.receive, 0);
    auto welcome = next_message();
    REQUIRE(welcome.has_value());
    REQUIRE_MESSAGE(std::holds_alternative<w::welcome>(*welcome), "the server did not welcome the raw session");
  }

  ftsync::bytes seal(const w::message& m) { return seal_bytes(w::encode(m)); }
  // Seals arbitrary plaintext: the peer's keys are right, the content is not.
  ftsync::bytes seal_bytes(const ftsync::bytes& plain) {
    auto f = m_tx->seal(plain);
    REQUIRE(f.ok());
    return std::move(*f);
  }
  void send(const ftsync::bytes& frame) { REQUIRE(m_host->send(m_conn, frame).ok()); }
  // Like send, but false when the transport refuses (its backlog is full).
  bool try_send(const ftsync::bytes& frame) { return m_host->send(m_conn, frame).ok(); }
  // Services the connection for up to `limit` (ENet acknowledgements and
  // sends), dropping whatever the server sent unread, as a peer that never
  // reads its replies would. False once the connection is gone.
  bool service_unread(std::chrono::milliseconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    do {
      auto ev = m_host->poll(0ms);
      if (!ev) {
        if (limit.count() == 0) return true;
        std::this_thread::sleep_for(1ms);
        continue;
      }
      if (ev->conn == m_conn && ev->kind == transport::event_kind::disconnected) return false;
      if (ev->conn == m_conn && ev->kind == transport::event_kind::received) ++m_dropped_unread;
    } while (std::chrono::steady_clock::now() < deadline);
    return true;
  }
  // Frames service_unread dropped: how many replies the server did send.
  std::size_t dropped_unread() const noexcept { return m_dropped_unread; }

  // The next message the server sends; nullopt when the session ended (a
  // sealed bye counts as the end) or nothing came within 5 s.
  std::optional<w::message> next_message() {
    auto ev = wait_event(transport::event_kind::received);
    if (!ev) return std::nullopt;
    auto plain = m_rx->open(ev->data);
    REQUIRE(plain.ok());
    auto m = w::decode(*plain);
    REQUIRE(m.ok());
    if (std::holds_alternative<w::bye>(*m)) return std::nullopt;
    return std::move(*m);
  }

  // True when the server ended the session (bye, then the transport
  // disconnect) within `limit`; a connection that times out counts too.
  bool ended_by_server(std::chrono::milliseconds limit = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      auto ev = m_host->poll(50ms);
      if (ev && ev->conn == m_conn && ev->kind == transport::event_kind::disconnected) return true;
    }
    return false;
  }

 private:
  std::optional<transport::event> wait_event(transport::event_kind kind) {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
    while (std::chrono::steady_clock::now() < deadline) {
      auto ev = m_host->poll(50ms);
      if (!ev || ev->conn != m_conn) continue;
      if (ev->kind == kind) return ev;
      if (ev->kind == transport::event_kind::disconnected) return std::nullopt;
    }
    return std::nullopt;
  }

  std::unique_ptr<transport::host> m_host;
  transport::conn_id m_conn = 0;
  std::optional<crypto::sealer> m_tx;
  std::optional<crypto::opener> m_rx;
  std::size_t m_dropped_unread = 0;
};

struct raw_peer {
  crypto::identity me;
  crypto::public_key server;
};

inline raw_peer trusted_raw_peer(const pair_setup& p) {
  REQUIRE(crypto::init().ok());
  auto id = crypto::identity::generate();
  REQUIRE(id.ok());
  auto r = p.srv.ftsync({"trust", crypto::format_id(id->key()), "--name", "raw"});
  REQUIRE_MESSAGE(r.exit_code == 0, describe(r));
  auto server = crypto::parse_id(p.srv.id());
  REQUIRE(server.ok());
  return {std::move(*id), *server};
}

}  // namespace raw_detail

using raw_detail::raw_peer;
using raw_detail::raw_session;
using raw_detail::trusted_raw_peer;

}  // namespace integ
