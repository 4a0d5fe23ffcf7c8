#pragma once
// Serving side of the one-off operations: answers requests from
// authenticated sessions against one confined store::root. Read-only peers
// may ping, stat, list and download; every write request from them is
// refused with errc::permission_denied before the store is touched.
// Logs one line per session and per transfer: peer address, peer id,
// operation, path, bytes, duration and rate.
#include <ftsync/session/server.hpp>
#include <ftsync/store/root.hpp>

#include <memory>

namespace ftsync::ops {

class file_server final : public session::request_handler {
 public:
  explicit file_server(store::root root);
  ~file_server() override;

  void on_open(session::session_ref& s) override;
  status on_message(session::session_ref& s, wire::message&& m) override;
  void on_close(session::session_ref& s, const error* why) override;
  // Group commit: verified uploads wait here until the server is idle (or
  // a batch is full or old), then share one flush of the disk; their
  // answers go out after it.
  bool has_deferred_work() const override;
  void on_idle() override;

 private:
  struct impl;
  std::unique_ptr<impl> m_impl;
};

}  // namespace ftsync::ops
