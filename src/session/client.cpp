#include "session/framing.hpp"

#include <ftsync/crypto/handshake.hpp>
#include <ftsync/session/client.hpp>
#include <ftsync/util/clock.hpp>
#include <ftsync/util/log.hpp>

#include <algorithm>
#include <optional>

namespace ftsync::session {

using namespace std::chrono_literals;

struct client::impl {
  std::unique_ptr<transport::host> host;
  transport::conn_id conn = 0;
  std::optional<sealed_channel> channel;
  bool read_only = false;
  bool connected = false;
  std::string server_name;
  std::string bye_reason;  // set when the server said bye
  std::string address;     // of the server, for messages

  error full_error() const {
    return make_error(errc::connection_failed,
                      "the server at " + address + " is full (it serves its --max-sessions limit); try again later");
  }

  // Waits for the next raw payload on our connection.
  result<std::optional<bytes>> next_payload(std::chrono::milliseconds timeout) {
    const auto deadline = mono_now() + timeout;
    while (true) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - mono_now());
      auto ev = host->poll(std::max(left, 0ms));
      if (ev && ev->conn == conn) {
        if (ev->kind == transport::event_kind::received) return std::optional<bytes>(std::move(ev->data));
        if (ev->kind == transport::event_kind::disconnected) {
          connected = false;
          if (ev->reason == k_reason_server_full) return full_error();
          return make_error(errc::disconnected,
                            bye_reason.empty() ? "connection lost"
                                               : "server closed the session: " + bye_reason);
        }
      }
      if (mono_now() >= deadline) return std::optional<bytes>{};
    }
  }

  result<wire::message> expect_handshake(std::chrono::milliseconds timeout) {
    auto payload = next_payload(timeout);
    if (!payload) {
      // The server ends a handshake that takes longer than
      // limits::handshake_timeout; say so rather than "connection lost".
      if (payload.code() == errc::disconnected && bye_reason.empty())
        return make_error(errc::disconnected, "the server dropped the connection during the handshake (it allows " +
                                                  std::to_string(limits::handshake_timeout.count() / 1000) +
                                                  " s; a heavily loaded machine can be slower)");
      return std::move(payload).err();
    }
    if (!*payload) return make_error(errc::timeout, "no handshake reply from the server");
    return wire::decode(**payload, wire::handshake_limits());
  }

  status send_raw(byte_view data) { return host->send(conn, data); }
};

client::client() : m_impl(std::make_unique<impl>()) {}
client::~client() = default;

result<std::unique_ptr<client>> client::connect(const transport::endpoint& to,
                                                const crypto::identity& me,
                                                const crypto::public_key& expected_server,
                                                const client_options& opts) {
  transport::host_options hopts;
  hopts.max_connections = 1;
  hopts.connect_timeout = opts.connect_timeout;
  hopts.max_send_rate = opts.max_send_rate;
  auto host = transport::host::client(hopts);
  if (!host) return std::move(host).err();

  std::unique_ptr<client> c(new client());
  auto& s = *c->m_impl;
  s.host = std::move(*host);
  auto conn = s.host->connect(to, gate_key_for(expected_server));
  if (!conn) return std::move(conn).err();
  s.conn = *conn;
  s.address = to.to_string();

  // 1. Wait for the transport connection. The server's gate only answers
  // knocks keyed with its own id, so silence also means "not that server".
  const auto silence = [&](errc code) {
    return make_error(code, "no answer from " + to.to_string() + ": no ftsync server runs there, or its id is not " +
                                crypto::format_id(expected_server) + " (a server ignores clients that expect another id)");
  };
  const auto deadline = mono_now() + opts.connect_timeout;
  while (!s.connected) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - mono_now());
    if (left <= 0ms) return silence(errc::timeout);
    auto ev = s.host->poll(std::min(left, 100ms));
    if (!ev || ev->conn != s.conn) continue;
    if (ev->kind == transport::event_kind::connected) s.connected = true;
    if (ev->kind == transport::event_kind::disconnected)
      return ev->reason == k_reason_server_full ? s.full_error() : silence(errc::connection_failed);
  }

  // 2. Handshake (crypto/handshake.hpp describes the pattern).
  crypto::initiator hs(me);
  const auto hello = hs.start();
  FTSYNC_TRY(s.send_raw(wire::encode(wire::hello{hello.version, hello.ephemeral})));
  auto reply_msg = s.expect_handshake(opts.connect_timeout);
  if (!reply_msg) return std::move(reply_msg).err();
  auto* reply = std::get_if<wire::hello_reply>(&*reply_msg);
  if (!reply) return make_error(errc::unexpected_message, "server did not answer the handshake");
  crypto::hello_reply hr;
  hr.version = reply->version;
  hr.ephemeral = reply->ephemeral;
  hr.identity.bytes = reply->identity;
  hr.sig = reply->signature;
  if (!(hr.identity == expected_server)) {
    s.host->disconnect(s.conn, true);
    return make_error(errc::peer_key_mismatch,
                      "server at " + to.to_string() + " has id " + crypto::format_id(hr.identity) +
                          ", not the trusted " + crypto::format_id(expected_server) +
                          " (a different server, or someone in between)");
  }
  auto auth = hs.on_reply(hr);
  if (!auth) return std::move(auth).err();
  FTSYNC_TRY(s.send_raw(wire::encode(wire::auth{auth->sealed})));
  const auto keys = hs.keys();
  s.channel.emplace(keys.send, keys.receive);

  // 3. The server's verdict, already sealed under the session keys.
  auto verdict_raw = s.next_payload(opts.connect_timeout);
  if (!verdict_raw) return std::move(verdict_raw).err();
  if (!*verdict_raw) return make_error(errc::timeout, "server did not confirm the session");
  auto verdict = s.channel->open(**verdict_raw);
  if (!verdict) return std::move(verdict).err();
  if (auto* w = std::get_if<wire::welcome>(&*verdict)) {
    s.read_only = w->read_only;
    s.server_name = w->server_name;
    if (opts.max_send_rate != 0) FTSYNC_TRY(c->send(wire::rate_limit{opts.max_send_rate}));
    return c;
  }
  if (auto* r = std::get_if<wire::refused>(&*verdict)) {
    s.host->disconnect(s.conn, true);
    error e{r->code, "server refused the session: " + escape_for_log(r->message), true};
    return e;
  }
  return make_error(errc::unexpected_message, "unexpected first message from the server");
}

status client::send(const wire::message& m) {
  auto& s = *m_impl;
  if (!s.connected) return make_error(errc::disconnected, "session is closed");
  auto sealed = s.channel->seal(m);
  if (!sealed) return std::move(sealed).err();
  return s.send_raw(*sealed);
}

result<std::optional<wire::message>> client::receive(std::chrono::milliseconds timeout) {
  auto& s = *m_impl;
  if (!s.connected) return make_error(errc::disconnected, "session is closed");
  auto payload = s.next_payload(timeout);
  if (!payload) return std::move(payload).err();
  if (!*payload) return std::optional<wire::message>{};
  auto m = s.channel->open(**payload);
  if (!m) {
    s.host->disconnect(s.conn, true);
    s.connected = false;
    return std::move(m).err();
  }
  if (auto* b = std::get_if<wire::bye>(&*m)) {
    s.bye_reason = escape_for_log(b->reason);
    s.host->disconnect(s.conn, false);
    s.host->flush();
    s.connected = false;
    return make_error(errc::disconnected, "server closed the session: " + s.bye_reason);
  }
  return std::optional<wire::message>(std::move(*m));
}

std::size_t client::queued_bytes() const { return m_impl->host->queued_bytes(m_impl->conn); }

bool client::reply_overdue(mono_time waiting_since) const {
  const auto waited = mono_now() - waiting_since;
  if (waited > limits::busy_server_patience) return true;
  if (waited <= limits::default_request_timeout) return false;
  return !m_impl->connected || m_impl->host->silence(m_impl->conn) > limits::server_silence;
}

void client::keep_alive() {
  if (m_impl->connected) m_impl->host->keep_alive();
}

void client::close() {
  auto& s = *m_impl;
  if (!s.connected) return;
  (void)send(wire::bye{"done"});
  s.host->disconnect(s.conn, false);
  // Bounded wait so the bye and the disconnect reach the server.
  const auto deadline = mono_now() + 1000ms;
  while (mono_now() < deadline) {
    auto ev = s.host->poll(50ms);
    if (ev && ev->conn == s.conn && ev->kind == transport::event_kind::disconnected) break;
  }
  s.connected = false;
}

bool client::read_only() const noexcept { return m_impl->read_only; }
const std::string& client::server_name() const noexcept { return m_impl->server_name; }

traffic client::stats() const {
  const auto st = m_impl->host->stats();
  return traffic{st.bytes_sent, st.bytes_received};
}

}  // namespace ftsync::session
