#pragma once
// An "evil" client for integration tests: a trusted peer that speaks the
// real protocol through session::client but sends whatever requests it
// likes, so the server's own validation is tested beyond what the CLI lets
// through (research/security.md D1, D2, D5: a peer is authenticated and
// still hostile).
#include "integration/harness.hpp"

#include <ftsync/crypto/keys.hpp>
#include <ftsync/session/client.hpp>
#include <ftsync/wire/messages.hpp>

#include <memory>
#include <string>

namespace integ {

// What came back for one request.
struct evil_outcome {
  enum class kind { error_reply, success, closed, no_answer, send_failed };
  kind what = kind::no_answer;
  ftsync::errc code = ftsync::errc::ok;  // error_reply: its code; closed/send_failed: the local error
  std::string detail;                    // message type or error text, for failure messages
  ftsync::wire::message reply;           // success / error_reply: the message itself
};
std::string describe(const evil_outcome& o);

class evil_client {
 public:
  // Generates an identity and makes `server_node` trust it (as "evil",
  // read-only when asked); the server listens on 127.0.0.1:port.
  evil_client(const node& server_node, std::uint16_t port, bool read_only = false);
  ~evil_client();

  // Opens a session if none is open; REQUIREs success.
  void connect();
  // Sends `m` (its request id is replaced by a fresh one) and waits up to
  // `limit` for the answer carrying that id. A session that ends is closed
  // here and reopened by the next call.
  evil_outcome request(ftsync::wire::message m, std::chrono::milliseconds limit = 5s);
  // Sends one message as it is (no request id is assigned).
  ftsync::status send(const ftsync::wire::message& m);
  // The next message from the server, whatever it is: success with the
  // message, closed when the session ended, no_answer after `limit`.
  evil_outcome next(std::chrono::milliseconds limit = 5s);
  std::string id_text() const;
  // The id request() used last, and a fresh one for messages built by hand.
  ftsync::wire::request_id last_id() const noexcept { return m_next - 1; }
  ftsync::wire::request_id fresh_id() noexcept { return m_next++; }

 private:
  ftsync::crypto::identity m_me;
  ftsync::crypto::public_key m_server;
  std::uint16_t m_port;
  std::unique_ptr<ftsync::session::client> m_session;
  ftsync::wire::request_id m_next = 1;
};

}  // namespace integ
