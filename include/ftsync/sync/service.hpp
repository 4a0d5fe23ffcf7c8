#pragma once
// The serving side of folder sync: answers the sync_* messages of
// authenticated sessions against the served folder's index. The index is
// refreshed (a stat-only rescan) before an index request is answered when
// the folder may have changed (the watcher saw something, or the periodic
// rescan is due), so edits made directly in the served folder flow back to
// every client. Read-only peers may read the index and chunks; their
// sync_put is refused (errc::permission_denied).
//
// `ftsync serve` composes this with ops::file_server (cli/cmd_serve.cpp):
// sync messages come here, everything else goes to the file server, so the
// one-off commands keep working on the same port and session.
#include <ftsync/session/server.hpp>
#include <ftsync/sync/folder.hpp>

#include <chrono>
#include <memory>

namespace ftsync::sync {

// True for the message types this service answers (wire ids 70-81).
bool is_sync_message(const wire::message& m) noexcept;

class service final : public session::request_handler {
 public:
  // `watch`: keep an inotify watcher on the folder (rescans only when it
  // reports something, or every `rescan_interval`); without it every index
  // request rescans.
  service(std::unique_ptr<folder> f, bool watch, std::chrono::milliseconds rescan_interval);
  ~service() override;

  void on_open(session::session_ref& s) override;
  status on_message(session::session_ref& s, wire::message&& m) override;
  void on_close(session::session_ref& s, const error* why) override;

  folder& served() noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> m_impl;
};

}  // namespace ftsync::sync
