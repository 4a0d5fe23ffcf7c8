#pragma once
// The serving end: many sessions at once on one UDP port. It runs the
// handshake, checks the client key against the trusted peers (re-read for
// every new session), seals and opens every message, enforces the handshake
// deadline and the idle timeout, and hands each authenticated message to a
// request_handler. A peer that sends anything malformed loses its session;
// every other session carries on.
#include <ftsync/crypto/keys.hpp>
#include <ftsync/session/trust.hpp>
#include <ftsync/transport/host.hpp>
#include <ftsync/util/result.hpp>
#include <ftsync/wire/messages.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace ftsync::session {

using session_id = std::uint64_t;

// What a handler sees of one authenticated session. It stays valid from
// on_open until on_close returns, so a handler may keep it and answer later
// (from on_idle).
class session_ref {
 public:
  virtual ~session_ref() = default;
  virtual session_id id() const = 0;
  virtual const peer_entry& peer() const = 0;  // name, key, read_only
  virtual const std::string& address() const = 0;
  virtual status send(const wire::message& m) = 0;
  virtual std::size_t queued_bytes() const = 0;
  // For a handler busy for long (hashing a large file): keeps every
  // session's transport alive; messages that arrive wait for the server loop.
  virtual void keep_alive() = 0;
  // Ends the session after queued messages (e.g. a protocol violation).
  virtual void close(const error& why) = 0;
};

class request_handler {
 public:
  virtual ~request_handler() = default;
  virtual void on_open(session_ref& s) = 0;
  // One decoded, authenticated message. Returning an error closes the
  // session (hostile or broken peer); ordinary failures are answered with
  // an error_reply and return ok.
  virtual status on_message(session_ref& s, wire::message&& m) = 0;
  // The session ended (bye, timeout, error, shutdown); `why` is null on a clean bye.
  virtual void on_close(session_ref& s, const error* why) = 0;
  // Work held back to be done for many messages at once (group commit:
  // one flush of the disk for many files). While has_deferred_work() is
  // true the server does not wait for messages: when none is waiting it
  // calls on_idle(), which does the work and answers the sessions concerned.
  virtual bool has_deferred_work() const { return false; }
  virtual void on_idle() {}
};

struct server_options {
  transport::endpoint listen;
  std::chrono::milliseconds idle_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(limits::default_idle_timeout);
  std::chrono::milliseconds handshake_timeout = limits::handshake_timeout;
  std::size_t max_sessions = limits::max_sessions;
  std::string server_name;  // sent in welcome (informational)
  // Bandwidth limit of the whole server, bytes/s (0: none). A client's own
  // limit (wire::rate_limit, handled here, never seen by the handler) caps
  // its session further.
  std::uint64_t max_send_rate = 0;
};

using trust_lookup = std::function<std::optional<peer_entry>(const crypto::public_key&)>;

struct server_counters {
  std::uint64_t sessions_opened = 0;
  std::uint64_t sessions_refused = 0;    // untrusted key
  std::uint64_t handshake_failures = 0;  // bad messages, bad signatures, timeouts
  std::uint64_t protocol_errors = 0;     // sessions closed for malformed input
};

class server {
 public:
  static result<std::unique_ptr<server>> start(const server_options& opts, const crypto::identity& me,
                                               trust_lookup trust);
  ~server();
  std::uint16_t port() const;
  // Serves until `stop` becomes true, then says bye to every session, lets
  // the handler close them, and returns.
  status run(request_handler& handler, const std::atomic<bool>& stop);
  server_counters counters() const;

 private:
  server();
  struct impl;
  std::unique_ptr<impl> m_impl;
};

}  // namespace ftsync::session
