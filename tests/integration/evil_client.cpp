#include "integration/evil_client.hpp"

#include <doctest/doctest.h>

#include <concepts>
#include <type_traits>

namespace integ {

namespace w = ftsync::wire;
using clock_type = std::chrono::steady_clock;

namespace {

ftsync::crypto::identity make_identity() {
  REQUIRE(ftsync::crypto::init().ok());
  auto id = ftsync::crypto::identity::generate();
  REQUIRE(id.ok());
  return std::move(id).value();
}

ftsync::crypto::public_key parse_server(const node& n) {
  auto k = ftsync::crypto::parse_id(n.id());
  REQUIRE_MESSAGE(k.ok(), ("cannot parse the server id " + n.id()));
  return *k;
}

template <class T>
concept has_request_id = requires(T t) {
  { t.id } -> std::same_as<w::request_id&>;
};

}  // namespace

std::string describe(const evil_outcome& o) {
  const char* k = "?";
  switch (o.what) {
    case evil_outcome::kind::error_reply: k = "error_reply"; break;
    case evil_outcome::kind::success: k = "success"; break;
    case evil_outcome::kind::closed: k = "session closed"; break;
    case evil_outcome::kind::no_answer: k = "no answer"; break;
    case evil_outcome::kind::send_failed: k = "send failed"; break;
  }
  return std::string(k) + " " + std::string(ftsync::errc_name(o.code)) + " " + o.detail;
}

evil_client::evil_client(const node& server_node, std::uint16_t port, bool read_only)
    : m_me(make_identity()), m_server(parse_server(server_node)), m_port(port) {
  std::vector<std::string> args{"trust", id_text(), "--name", "evil"};
  if (read_only) args.push_back("--read-only");
  auto r = server_node.ftsync(args);
  REQUIRE_MESSAGE(r.exit_code == 0, describe(r));
}

evil_client::~evil_client() {
  if (m_session) m_session->close();
}

std::string evil_client::id_text() const { return ftsync::crypto::format_id(m_me.key()); }

void evil_client::connect() {
  if (m_session) return;
  ftsync::transport::endpoint ep{"127.0.0.1", m_port};
  auto s = ftsync::session::client::connect(ep, m_me, m_server);
  REQUIRE_MESSAGE(s.ok(), ("evil client cannot connect: " + (s.ok() ? std::string() : s.err().message)));
  m_session = std::move(s).value();
}

evil_outcome evil_client::request(w::message m, std::chrono::milliseconds limit) {
  connect();
  const w::request_id id = m_next++;
  std::visit(
      [&](auto& msg) {
        if constexpr (has_request_id<std::decay_t<decltype(msg)>>) msg.id = id;
      },
      m);
  evil_outcome out;
  if (auto st = m_session->send(m); !st) {
    out.what = evil_outcome::kind::send_failed;
    out.code = st.code();
    out.detail = st.err().message;
    m_session.reset();
    return out;
  }
  const auto deadline = clock_type::now() + limit;
  while (clock_type::now() < deadline) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
    auto got = m_session->receive(std::max(left, 1ms));
    if (!got) {
      out.what = evil_outcome::kind::closed;
      out.code = got.code();
      out.detail = got.err().message;
      m_session.reset();
      return out;
    }
    if (!*got) continue;
    const w::message& reply = **got;
    if (auto* b = std::get_if<w::bye>(&reply)) {
      out.what = evil_outcome::kind::closed;
      out.detail = "bye: " + b->reason;
      m_session.reset();
      return out;
    }
    if (auto* e = std::get_if<w::error_reply>(&reply)) {
      if (e->id != id) continue;
      out.what = evil_outcome::kind::error_reply;
      out.code = e->code;
      out.detail = e->message;
      out.reply = reply;
      return out;
    }
    bool mine = false;
    std::visit(
        [&](const auto& msg) {
          if constexpr (has_request_id<std::decay_t<decltype(msg)>>) mine = msg.id == id;
        },
        reply);
    if (!mine) continue;
    out.what = evil_outcome::kind::success;
    out.detail = w::type_name(w::type_of(reply));
    out.reply = reply;
    return out;
  }
  out.what = evil_outcome::kind::no_answer;
  return out;
}

ftsync::status evil_client::send(const w::message& m) {
  connect();
  auto st = m_session->send(m);
  if (!st) m_session.reset();
  return st;
}

evil_outcome evil_client::next(std::chrono::milliseconds limit) {
  connect();
  evil_outcome out;
  auto got = m_session->receive(limit);
  if (!got) {
    out.what = evil_outcome::kind::closed;
    out.code = got.code();
    out.detail = got.err().message;
    m_session.reset();
    return out;
  }
  if (!*got) return out;  // no_answer
  const w::message& msg = **got;
  if (auto* b = std::get_if<w::bye>(&msg)) {
    out.what = evil_outcome::kind::closed;
    out.detail = "bye: " + b->reason;
    m_session.reset();
    return out;
  }
  if (auto* e = std::get_if<w::error_reply>(&msg)) {
    out.what = evil_outcome::kind::error_reply;
    out.code = e->code;
    out.detail = e->message;
  } else {
    out.what = evil_outcome::kind::success;
    out.detail = w::type_name(w::type_of(msg));
  }
  out.reply = msg;
  return out;
}

}  // namespace integ
