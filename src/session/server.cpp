#include "session/framing.hpp"

#include <ftsync/crypto/handshake.hpp>
#include <ftsync/session/client.hpp>
#include <ftsync/session/server.hpp>
#include <ftsync/util/clock.hpp>
#include <ftsync/util/limits.hpp>
#include <ftsync/util/log.hpp>

#include <algorithm>
#include <map>
#include <optional>

namespace ftsync::session {

using namespace std::chrono_literals;

namespace {

// See server::start.
constexpr std::size_t k_spare_slots = 4;
constexpr std::size_t k_max_enet_slots = 4094;
// A knocking flood past the limit must not flood the log as well.
constexpr auto k_full_log_interval = 10s;

enum class phase { awaiting_hello, awaiting_auth, open, closing };

// One connection, from ENet connect to disconnect.
class live_session final : public session_ref {
 public:
  live_session(session_id sid, transport::host& host, transport::conn_id conn, const crypto::identity& me)
      : m_id(sid), m_host(host), m_conn(conn), m_responder(me), m_address(host.peer_address(conn)) {}

  session_id id() const override { return m_id; }
  const peer_entry& peer() const override { return m_peer; }
  const std::string& address() const override { return m_address; }
  status send(const wire::message& m) override {
    if (!m_channel || m_phase == phase::closing) return make_error(errc::disconnected, "session is closing");
    auto sealed = m_channel->seal(m);
    if (!sealed) return std::move(sealed).err();
    return m_host.send(m_conn, *sealed);
  }
  std::size_t queued_bytes() const override { return m_host.queued_bytes(m_conn); }
  void keep_alive() override { m_host.keep_alive(); }
  void close(const error& why) override {
    if (m_phase == phase::closing) return;
    if (!m_close_reason) m_close_reason = why;
    (void)send(wire::bye{why.message});
    m_phase = phase::closing;
    m_host.disconnect(m_conn, false);
    m_closing_since = mono_now();
  }

  session_id m_id;
  transport::host& m_host;
  transport::conn_id m_conn;
  crypto::responder m_responder;
  std::string m_address;
  peer_entry m_peer;
  std::optional<sealed_channel> m_channel;
  phase m_phase = phase::awaiting_hello;
  mono_time m_started = mono_now();
  mono_time m_last_activity = mono_now();
  mono_time m_closing_since{};
  bool m_opened = false;  // on_open was called, so on_close is owed
  std::optional<error> m_close_reason;
};

}  // namespace

struct server::impl {
  server_options opts;
  const crypto::identity* me = nullptr;
  trust_lookup trust;
  std::unique_ptr<transport::host> host;
  std::map<transport::conn_id, std::unique_ptr<live_session>> sessions;
  session_id next_id = 1;
  server_counters counters;
  request_handler* handler = nullptr;
  std::uint64_t turned_away = 0;  // since the last "turned away" log line
  mono_time last_full_log{};

  // Sessions that count against max_sessions: one that is closing only
  // waits for its transport goodbye (up to ENet's timeout when the client
  // is gone) and holds one of the spare slots meanwhile.
  std::size_t open_sessions() const {
    return static_cast<std::size_t>(std::count_if(sessions.begin(), sessions.end(), [](const auto& kv) {
      return kv.second->m_phase != phase::closing;
    }));
  }

  void finish(live_session& s) {
    if (s.m_opened) {
      s.m_opened = false;
      const error* why = s.m_close_reason ? &*s.m_close_reason : nullptr;
      handler->on_close(s, why);
    }
  }

  // Drops a peer that misbehaved before or during the handshake.
  void fail_handshake(live_session& s, const error& e) {
    ++counters.handshake_failures;
    log::info("handshake from " + s.m_address + " failed: " + std::string(errc_name(e.code)) + ": " + e.message);
    host->disconnect(s.m_conn, true);
    sessions.erase(s.m_conn);
  }

  void on_receive(live_session& s, bytes&& data) {
    s.m_last_activity = mono_now();
    switch (s.m_phase) {
      case phase::awaiting_hello: {
        auto m = wire::decode(data, wire::handshake_limits());
        auto* hello = m ? std::get_if<wire::hello>(&*m) : nullptr;
        if (!hello) return fail_handshake(s, m ? make_error(errc::unexpected_message, "expected hello") : m.err());
        auto reply = s.m_responder.on_hello(crypto::hello{hello->version, hello->ephemeral});
        if (!reply) return fail_handshake(s, reply.err());
        (void)host->send(s.m_conn, wire::encode(wire::hello_reply{reply->version, reply->ephemeral,
                                                                  reply->identity.bytes, reply->sig}));
        s.m_phase = phase::awaiting_auth;
        return;
      }
      case phase::awaiting_auth: {
        auto m = wire::decode(data, wire::handshake_limits());
        auto* auth = m ? std::get_if<wire::auth>(&*m) : nullptr;
        if (!auth) return fail_handshake(s, m ? make_error(errc::unexpected_message, "expected auth") : m.err());
        auto client_key = s.m_responder.on_auth(crypto::auth{auth->sealed});
        if (!client_key) return fail_handshake(s, client_key.err());
        const auto keys = s.m_responder.keys();
        s.m_channel.emplace(keys.send, keys.receive);
        const auto id = crypto::format_id(*client_key);
        auto entry = trust(*client_key);
        if (!entry) {
          // Refuse before any file operation, and say why on both sides.
          ++counters.sessions_refused;
          log::warn("refused untrusted peer " + id + " from " + s.m_address);
          (void)s.send(wire::refused{errc::untrusted_peer,
                                     "this node's id " + id + " is not trusted by the server; on the server run: "
                                     "ftsync trust " + id + " --name NAME"});
          s.m_phase = phase::closing;
          s.m_closing_since = mono_now();
          host->disconnect(s.m_conn, false);
          return;
        }
        s.m_peer = *entry;
        s.m_phase = phase::open;
        (void)s.send(wire::welcome{entry->read_only, opts.server_name});
        ++counters.sessions_opened;
        s.m_opened = true;
        log::info("session " + std::to_string(s.m_id) + " opened: peer " + escape_for_log(entry->name) + " (" +
                  crypto::short_id(entry->key) + ") from " + s.m_address + (entry->read_only ? " read-only" : ""));
        handler->on_open(s);
        return;
      }
      case phase::open: {
        auto m = s.m_channel->open(data);
        if (!m) {
          // Tampered, replayed, malformed: this session ends, the others go on.
          ++counters.protocol_errors;
          log::warn("session " + std::to_string(s.m_id) + " from " + s.m_address + ": " +
                    std::string(errc_name(m.code())) + ": " + m.err().message);
          s.close(m.err());
          return;
        }
        if (auto* b = std::get_if<wire::bye>(&*m)) {
          (void)b;
          s.m_phase = phase::closing;
          s.m_closing_since = mono_now();
          host->disconnect(s.m_conn, false);
          finish(s);
          return;
        }
        if (auto* r = std::get_if<wire::rate_limit>(&*m)) {
          // Only ever slows this session down; the server's own limit still holds.
          host->limit_send_rate(s.m_conn, r->bytes_per_s);
          return;
        }
        if (std::holds_alternative<wire::hello>(*m) || std::holds_alternative<wire::auth>(*m) ||
            std::holds_alternative<wire::hello_reply>(*m)) {
          ++counters.protocol_errors;
          s.close(make_error(errc::unexpected_message, "handshake message inside an open session"));
          return;
        }
        auto st = handler->on_message(s, std::move(*m));
        if (!st) {
          ++counters.protocol_errors;
          log::warn("session " + std::to_string(s.m_id) + " from " + s.m_address + " closed: " +
                    std::string(errc_name(st.code())) + ": " + st.err().message);
          s.close(st.err());
          return;
        }
        // research/security.md C5: the requests keep coming but the replies
        // are not taken. Closing (its later requests are then ignored, and
        // the closing deadline frees what is queued) bounds the memory one
        // peer can hold; other sessions go on.
        const std::size_t unread = host->queued_messages(s.m_conn), unread_bytes = host->queued_bytes(s.m_conn);
        if (unread > limits::max_unread_replies || unread_bytes > limits::max_unread_reply_bytes) {
          ++counters.protocol_errors;
          log::warn("session " + std::to_string(s.m_id) + " from " + s.m_address +
                    " closed: the peer does not read its replies (" + std::to_string(unread) + " replies, " +
                    std::to_string(unread_bytes) + " bytes waiting)");
          s.close(make_error(errc::too_large, "too many unread replies"));
        }
        return;
      }
      case phase::closing:
        return;  // the peer keeps talking after we said bye: ignore
    }
  }

  // A session we decided to close is finished for the handler at once; the
  // transport's goodbye may take a round trip or a timeout to complete.
  void finish_closing() {
    for (auto& [conn, s] : sessions)
      if (s->m_phase == phase::closing) finish(*s);
  }

  void check_deadlines() {
    const auto now = mono_now();
    std::vector<transport::conn_id> drop;
    for (auto& [conn, s] : sessions) {
      if ((s->m_phase == phase::awaiting_hello || s->m_phase == phase::awaiting_auth) &&
          now - s->m_started > opts.handshake_timeout) {
        ++counters.handshake_failures;
        log::info("handshake from " + s->m_address + " timed out");
        drop.push_back(conn);
      } else if (s->m_phase == phase::open && now - s->m_last_activity > opts.idle_timeout) {
        log::info("session " + std::to_string(s->m_id) + " from " + s->m_address + " idle for " +
                  std::to_string(std::chrono::duration<double>(opts.idle_timeout).count()) + " s: closing");
        s->close(make_error(errc::timeout, "idle timeout"));
      } else if (s->m_phase == phase::closing && now - s->m_closing_since > 3s) {
        drop.push_back(conn);  // the peer never acknowledged our disconnect
      }
    }
    for (auto conn : drop) {
      auto it = sessions.find(conn);
      finish(*it->second);
      host->disconnect(conn, true);
      sessions.erase(it);
    }
  }
};

server::server() : m_impl(std::make_unique<impl>()) {}
server::~server() = default;

result<std::unique_ptr<server>> server::start(const server_options& opts, const crypto::identity& me,
                                              trust_lookup trust) {
  transport::host_options hopts;
  // Spare ENet slots, so that a client beyond the limit is told the server
  // is full; without them ENet ignores its CONNECT and it hears nothing.
  hopts.max_connections = std::min<std::size_t>(opts.max_sessions + k_spare_slots, k_max_enet_slots);
  hopts.gate = gate_key_for(me.key());
  hopts.max_send_rate = opts.max_send_rate;
  auto host = transport::host::listen(opts.listen, hopts);
  if (!host) return std::move(host).err();
  std::unique_ptr<server> srv(new server());
  srv->m_impl->opts = opts;
  srv->m_impl->me = &me;
  srv->m_impl->trust = std::move(trust);
  srv->m_impl->host = std::move(*host);
  return srv;
}

std::uint16_t server::port() const { return m_impl->host->local_port(); }
server_counters server::counters() const { return m_impl->counters; }

status server::run(request_handler& handler, const std::atomic<bool>& stop) {
  auto& s = *m_impl;
  s.handler = &handler;
  auto last_check = mono_now();
  while (!stop.load()) {
    const bool deferred = handler.has_deferred_work();
    auto ev = s.host->poll(deferred ? 0ms : 50ms);
    if (!ev && deferred) handler.on_idle();
    if (ev) {
      switch (ev->kind) {
        case transport::event_kind::connected:
          if (s.open_sessions() >= s.opts.max_sessions) {
            ++s.turned_away;
            if (mono_now() - s.last_full_log >= k_full_log_interval) {
              log::warn("turned away " + std::to_string(s.turned_away) + " client(s), the last from " +
                        s.host->peer_address(ev->conn) + ": " + std::to_string(s.opts.max_sessions) +
                        " sessions open, the limit (serve --max-sessions)");
              s.turned_away = 0;
              s.last_full_log = mono_now();
            }
            s.host->disconnect(ev->conn, true, k_reason_server_full);
            break;
          }
          s.sessions.emplace(ev->conn, std::make_unique<live_session>(s.next_id++, *s.host, ev->conn, *s.me));
          break;
        case transport::event_kind::received: {
          auto it = s.sessions.find(ev->conn);
          if (it != s.sessions.end()) s.on_receive(*it->second, std::move(ev->data));
          break;
        }
        case transport::event_kind::disconnected: {
          auto it = s.sessions.find(ev->conn);
          if (it == s.sessions.end()) break;
          if (it->second->m_phase == phase::open && !it->second->m_close_reason)
            it->second->m_close_reason = make_error(errc::disconnected, "peer disconnected");
          s.finish(*it->second);
          s.sessions.erase(it);
          break;
        }
      }
    }
    if (ev) s.finish_closing();
    if (mono_now() - last_check > 100ms) {
      s.check_deadlines();
      s.finish_closing();
      last_check = mono_now();
    }
  }
  // Graceful shutdown: finish deferred work (its answers are still owed),
  // tell every peer, let the handler keep partial files for resume, give
  // the byes a bounded moment to leave.
  if (handler.has_deferred_work()) handler.on_idle();
  for (auto& [conn, sess] : s.sessions) {
    if (sess->m_phase == phase::open) sess->close(make_error(errc::cancelled, "server shutting down"));
    s.finish(*sess);
  }
  const auto deadline = mono_now() + 1000ms;
  while (!s.sessions.empty() && mono_now() < deadline) {
    auto ev = s.host->poll(20ms);
    if (ev && ev->kind == transport::event_kind::disconnected) s.sessions.erase(ev->conn);
  }
  s.host->flush();
  s.handler = nullptr;
  return {};
}

}  // namespace ftsync::session
