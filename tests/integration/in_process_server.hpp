#pragma once
// A real session::server in the test process, with a request handler the
// test scripts (a malicious server answering a real client): it accepts
// any client key, listens on 127.0.0.1 (free port), runs on its own thread
// until destroyed, and keeps its per-session log lines off stderr.
#include "integration/harness.hpp"

#include <ftsync/crypto/keys.hpp>
#include <ftsync/session/server.hpp>
#include <ftsync/util/log.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <memory>
#include <optional>
#include <thread>

namespace integ {

class in_process_server {
 public:
  explicit in_process_server(ftsync::session::request_handler& handler) : m_old_level(ftsync::log::get_level()) {
    ftsync::log::set_level(ftsync::log::level::warn);
    REQUIRE(ftsync::crypto::init().ok());
    auto me = ftsync::crypto::identity::generate();
    REQUIRE(me.ok());
    m_me.emplace(std::move(*me));
    ftsync::session::server_options opts;
    opts.listen = ftsync::transport::endpoint{"127.0.0.1", 0};
    opts.server_name = "evil";
    auto started = ftsync::session::server::start(opts, *m_me, [](const ftsync::crypto::public_key& k) {
      return std::optional<ftsync::session::peer_entry>(ftsync::session::peer_entry{"anyone", k, "", false});
    });
    REQUIRE_MESSAGE(started.ok(), (started.ok() ? "" : started.err().message));
    m_server = std::move(started).value();
    m_loop = std::thread([this, &handler] { (void)m_server->run(handler, m_stop); });
  }
  ~in_process_server() {
    m_stop = true;
    if (m_loop.joinable()) m_loop.join();
    ftsync::log::set_level(m_old_level);
  }
  in_process_server(const in_process_server&) = delete;
  in_process_server& operator=(const in_process_server&) = delete;

  // `n` trusts this server as `name`.
  void trusted_by(const node& n, const std::string& name) const {
    auto t = n.ftsync({"trust", ftsync::crypto::format_id(m_me->key()), "--name", name, "--address",
                       "127.0.0.1:" + std::to_string(m_server->port())});
    REQUIRE_MESSAGE(t.exit_code == 0, describe(t));
  }

 private:
  ftsync::log::level m_old_level;
  std::optional<ftsync::crypto::identity> m_me;
  std::unique_ptr<ftsync::session::server> m_server;
  std::atomic<bool> m_stop{false};
  std::thread m_loop;
};

}  // namespace integ
