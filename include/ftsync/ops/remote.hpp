#pragma once
// Client side of the one-off operations, on top of an open session:
// ls, stat, mkdir, rmdir, rm, mv, push and pull. Transfers are pipelined
// (many requests and blocks in flight, bounded by limits::send_window_bytes),
// verify every block and the whole-file hash, and resume from a kept partial
// file when an earlier run was interrupted.
#include <ftsync/session/client.hpp>
#include <ftsync/util/rel_path.hpp>
#include <ftsync/util/result.hpp>
#include <ftsync/wire/messages.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace ftsync::ops {

struct ping_result {
  double rtt_seconds = 0;
  std::int64_t server_time_ns = 0;
  std::string server_name;
};

struct progress {
  std::uint64_t bytes_done = 0;    // file bytes moved or found already present (resume)
  std::uint64_t bytes_total = 0;
  std::uint64_t files_done = 0;
  std::uint64_t files_total = 0;
  std::string current;             // path being transferred (for display; escape before printing)
};

enum class file_action { sent, received, up_to_date, resumed, skipped };

struct file_event {
  std::string path;          // remote path (push) or local relative path (pull)
  file_action action = file_action::sent;
  std::uint64_t size = 0;
  std::uint64_t resumed_bytes = 0;  // bytes kept from an interrupted earlier run
  std::string note;          // why a file was skipped (symlink, special file, ...)
};

struct transfer_options {
  std::function<void(const progress&)> on_progress;    // called at most ~10 times/s
  std::function<void(const file_event&)> on_file;      // after each file completes or is skipped
};

struct transfer_summary {
  std::uint64_t files = 0;          // regular files transferred or verified up to date
  std::uint64_t dirs = 0;           // directories created or present
  std::uint64_t bytes = 0;          // file bytes sent/received in this run
  std::uint64_t resumed_bytes = 0;  // bytes not re-sent thanks to resume
  std::uint64_t up_to_date = 0;     // files skipped because size and mtime matched
  std::uint64_t skipped = 0;        // symlinks and special files not transferred
  double seconds = 0;
  session::traffic wire;            // wire bytes of the whole session
};

class remote {
 public:
  explicit remote(std::unique_ptr<session::client> session);
  ~remote();

  result<ping_result> ping();
  result<wire::entry> stat(const rel_path& path);
  // Every entry of a directory (all pages), or the entry itself for a file.
  result<std::vector<wire::entry>> list(const rel_path& path);
  status make_dir(const rel_path& path, bool parents);
  status remove_dir(const rel_path& path);
  status remove(const rel_path& path, bool recursive);
  status move(const rel_path& from, const rel_path& to);

  // Each local path (file or directory tree) lands as remote_dir/<its name>;
  // remote_dir is created if missing.
  result<transfer_summary> push(const std::vector<std::filesystem::path>& local,
                                const rel_path& remote_dir, const transfer_options& opts);
  // Each remote path (file or directory tree) lands as local_dir/<its name>;
  // local_dir is created if missing. Names the server sends are validated and
  // confined beneath local_dir (scp CVE-2019-6111 class).
  result<transfer_summary> pull(const std::vector<rel_path>& remote_paths,
                                const std::filesystem::path& local_dir, const transfer_options& opts);

  session::client& session() noexcept { return *m_session; }
  void close();

 private:
  std::unique_ptr<session::client> m_session;
  wire::request_id m_next_id = 1;
  struct push_engine;
  struct pull_engine;
};

}  // namespace ftsync::ops
