#pragma once
// The client side of folder sync: brings a local folder and the folder a
// peer serves to the same state over one authenticated session.
//
// One round: rescan the local folder (stat only for unchanged files), read
// what changed in the peer's index since the last round (cached in the
// local database, so a no-op round moves a few hundred bytes), plan
// (planner.hpp), and apply the plan: pull what the peer has newer (chunk
// lists first, then only the chunks found nowhere in the local folder),
// push what we have newer (the server likewise asks only for chunks it
// lacks), delete, rename, keep conflict copies. Every change at a final
// path goes through a partial file, is verified and renamed into place, and
// only if the target is still what the plan saw; anything that changed
// meanwhile is left to the next round.
#include <ftsync/session/client.hpp>
#include <ftsync/sync/folder.hpp>
#include <ftsync/sync/planner.hpp>

#include <atomic>
#include <functional>
#include <string>
#include <vector>

namespace ftsync::sync {

struct sync_event {
  std::string path;
  std::string action;  // pulled, pushed, deleted_local, deleted_remote, renamed_local, renamed_remote, dir, meta, conflict
  std::uint64_t size = 0;
  std::uint64_t data_bytes = 0;  // chunk data moved over the wire for this path
  std::string note;              // conflict: the conflict copy's name
};

struct sync_totals {
  std::uint64_t files = 0;          // files pulled or pushed (content or metadata)
  std::uint64_t dirs = 0;           // directories created on either side
  std::uint64_t deleted = 0;        // paths deleted on either side
  std::uint64_t renamed = 0;        // renames applied without data
  std::uint64_t conflicts = 0;      // conflict copies made
  std::uint64_t bytes = 0;          // chunk data sent + received
  std::uint64_t bytes_sent = 0;
  std::uint64_t bytes_received = 0;
  std::uint64_t reused_bytes = 0;   // found in the receiving folder, not sent
  std::uint64_t resumed_bytes = 0;  // kept from an interrupted earlier sync
  std::uint64_t failed = 0;         // actions that failed this round (retried next round)
  std::uint64_t pending = 0;        // actions left after the last round
  std::uint64_t pending_bytes = 0;  // their file sizes
  std::uint64_t rounds = 0;
  std::uint64_t hashed_files = 0;   // files the local scans read
  void add(const sync_totals& o);
};

struct engine_options {
  std::string peer_key;       // the peer's id text: names its cached index
  rel_path remote_dir;        // the synced folder inside the peer's served root
  std::string my_short_id;    // for conflict copies of our versions
  std::string peer_short_id;  // for conflict copies of the peer's versions
  std::function<void(const sync_event&)> on_event;
  const std::atomic<bool>* stop = nullptr;
};

class engine {
 public:
  engine(folder& local, session::client& session, engine_options opts);
  // One scan-read-plan-apply round; totals of what it did. Without
  // `scan_local` the local index is taken as current (the background mode
  // rescans only when the watcher saw a change or the periodic rescan is due).
  result<sync_totals> round(bool scan_local = true);
  // A round that rescans only the paths a watcher named (and beneath them).
  result<sync_totals> round_changed(std::vector<rel_path> changed);
  // Rounds until a round finds nothing to do (at most 8): `sync --once`.
  result<sync_totals> run_once();

 private:
  struct impl;
  std::shared_ptr<impl> m_impl;
};

}  // namespace ftsync::sync
