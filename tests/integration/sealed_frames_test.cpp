// Sealed frames that were tampered with, replayed or reordered, sent to a
// real `ftsync serve` by a trusted peer that runs the handshake itself and
// then seals frames by hand (research/security.md: replayed or reordered
// sealed messages, tampered ciphertext). Each must end the session before
// any file operation, and the server must keep serving others. The channel
// unit tests check the same rules on the cipher alone; this checks that the
// server applies them.
#include "integration/harness.hpp"

#include <ftsync/crypto/channel.hpp>
#include <ftsync/crypto/handshake.hpp>
#include <ftsync/crypto/keys.hpp>
#include <ftsync/session/client.hpp>
#include <ftsync/transport/host.hpp>
#include <ftsync/wire/codec.hpp>

#include <doctest/doctest.h>

#include <optional>

using namespace integ;
namespace w = ftsync::wire;
namespace crypto = ftsync::crypto;
namespace transport = ftsync::transport;

namespace {

// A session whose every sealed frame the test builds itself.
class raw_session {
 public:
  raw_session(const crypto::identity& me, const crypto::public_key& server, std::uint16_t port) {
    transport::host_options o;
    o.max_connections = 1;
    auto h = transport::host::client(o);
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

  ftsync::bytes seal(const w::message& m) {
    auto f = m_tx->seal(w::encode(m));
    REQUIRE(f.ok());
    return std::move(*f);
  }
  void send(const ftsync::bytes& frame) { REQUIRE(m_host->send(m_conn, frame).ok()); }

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
  // disconnect) within 5 s.
  bool ended_by_server() {
    const auto deadline = std::chrono::steady_clock::now() + 5s;
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
};

struct raw_peer {
  crypto::identity me;
  crypto::public_key server;
};

raw_peer trusted_raw_peer(const pair_setup& p) {
  REQUIRE(crypto::init().ok());
  auto id = crypto::identity::generate();
  REQUIRE(id.ok());
  auto r = p.srv.ftsync({"trust", crypto::format_id(id->key()), "--name", "raw"});
  REQUIRE_MESSAGE(r.exit_code == 0, describe(r));
  auto server = crypto::parse_id(p.srv.id());
  REQUIRE(server.ok());
  return {std::move(*id), *server};
}

w::message mkdir_of(std::uint32_t id, const std::string& path) { return w::mkdir_request{id, path, false, 0755, 0}; }

// The server still serves an honest client, and logged the refusal.
void server_still_serves(const pair_setup& p) {
  auto ls = p.c({"ls", "srv:/"});
  CHECK_MESSAGE(ls.exit_code == 0, describe(ls));
  CHECK_MESSAGE(contains(p.serve->log(), "auth_failed"), p.serve->log());
}

}  // namespace

TEST_CASE("a sealed frame with one flipped bit ends the session before its mkdir runs") {
  pair_setup p("tampered");
  auto peer = trusted_raw_peer(p);
  raw_session s(peer.me, peer.server, p.serve->port());
  auto frame = s.seal(mkdir_of(1, "tampered"));
  frame[frame.size() / 2] ^= 0x01;
  s.send(frame);
  CHECK(s.ended_by_server());
  CHECK_FALSE(fs::exists(p.root / "tampered"));
  server_still_serves(p);
}

TEST_CASE("a replayed sealed frame ends the session; the replayed mkdir does not run again") {
  pair_setup p("replayed");
  auto peer = trusted_raw_peer(p);
  raw_session s(peer.me, peer.server, p.serve->port());
  const auto frame = s.seal(mkdir_of(1, "once"));
  s.send(frame);
  auto ok = s.next_message();
  REQUIRE(ok.has_value());
  REQUIRE(std::holds_alternative<w::ok>(*ok));
  REQUIRE(fs::is_directory(p.root / "once"));
  // The owner removes it; a replay that ran would bring it back.
  auto rm = p.c({"rmdir", "srv:/once"});
  REQUIRE_MESSAGE(rm.exit_code == 0, describe(rm));
  s.send(frame);
  CHECK(s.ended_by_server());
  CHECK_FALSE(fs::exists(p.root / "once"));
  server_still_serves(p);
}

TEST_CASE("sealed frames delivered out of order end the session before either mkdir runs") {
  pair_setup p("reordered");
  auto peer = trusted_raw_peer(p);
  raw_session s(peer.me, peer.server, p.serve->port());
  const auto first = s.seal(mkdir_of(1, "first"));
  const auto second = s.seal(mkdir_of(2, "second"));
  s.send(second);
  CHECK(s.ended_by_server());
  CHECK_FALSE(fs::exists(p.root / "first"));
  CHECK_FALSE(fs::exists(p.root / "second"));
  server_still_serves(p);
}
