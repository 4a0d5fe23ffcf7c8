#pragma once
// The client end of a session: connect, handshake, then sealed msgpack
// messages in both directions over one reliable ordered ENet connection.
#include <ftsync/crypto/keys.hpp>
#include <ftsync/transport/host.hpp>
#include <ftsync/util/clock.hpp>
#include <ftsync/util/result.hpp>
#include <ftsync/wire/messages.hpp>

#include <chrono>
#include <memory>
#include <optional>

namespace ftsync::session {

struct client_options {
  std::chrono::milliseconds connect_timeout{10000};
  // Bandwidth limit in bytes/s, 0 for none: paces what this client sends,
  // and the server is asked to pace what it sends in this session.
  std::uint64_t max_send_rate = 0;
};

struct traffic {
  std::uint64_t wire_bytes_sent = 0;      // UDP payload bytes, all protocol overheads included
  std::uint64_t wire_bytes_received = 0;
};

class client {
 public:
  // Connects to `to`, runs the handshake and waits for the server's welcome.
  // Errors: connection_failed/timeout (no answer), peer_key_mismatch (the
  // server is not `expected_server`), untrusted_peer/permission_denied (the
  // server refused us; error.remote is set), auth_failed, malformed.
  static result<std::unique_ptr<client>> connect(const transport::endpoint& to,
                                                 const crypto::identity& me,
                                                 const crypto::public_key& expected_server,
                                                 const client_options& opts = {});
  ~client();

  // Encodes, seals and queues one message.
  status send(const wire::message& m);
  // Waits up to `timeout` for the next message. nullopt: time ran out.
  // An error ends the session (disconnected, auth_failed, malformed, ...).
  result<std::optional<wire::message>> receive(std::chrono::milliseconds timeout);
  // Bytes queued towards the server and not yet acknowledged.
  std::size_t queued_bytes() const;
  // Whether to give up on a reply awaited since `waiting_since`: after
  // limits::default_request_timeout if the server's transport is silent
  // as well, after limits::busy_server_patience in any case.
  bool reply_overdue(mono_time waiting_since) const;
  // For long work between receive() calls (hashing a large file): keeps
  // the connection alive; a server that hears nothing for 30 s drops it.
  void keep_alive();
  // Polite close: bye, then wait (bounded) for queued data to go out.
  void close();

  bool read_only() const noexcept;          // what the server's welcome said
  const std::string& server_name() const noexcept;
  traffic stats() const;

 private:
  client();
  struct impl;
  std::unique_ptr<impl> m_impl;
};

// Gate key for a server: derived from its public key, so every node that
// knows the server id can knock and nobody else can (transport/host.hpp).
transport::gate_key gate_key_for(const crypto::public_key& server);

}  // namespace ftsync::session
