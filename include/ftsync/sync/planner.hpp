#pragma once
// The planner compares this node's index with the peer's and decides, path
// by path, what to do. It is a pure function (no I/O), so every rule is unit
// tested:
//   - versions equal: nothing;
//   - one version vector descends from the other: the newer side wins and
//     is copied over (pull or push), deletions included (tombstones);
//   - concurrent (both changed since they last agreed):
//       * the same data on both sides (or two directories): merge the
//         histories, no conflict;
//       * deleted on one side, changed on the other: the change wins (the
//         edit is kept, never the deletion);
//       * two different contents: a conflict. The newer mtime wins (ties:
//         the larger content hash, so both ends agree without talking); the
//         loser is kept under a conflict name (index::conflict_name).
//   - a new file whose content equals that of a file deleted on the same
//     side is a rename: the receiving side renames instead of copying.
// Ignored paths (the local .ftsyncignore) are left alone both ways.
#include <ftsync/index/entry.hpp>
#include <ftsync/index/ignore.hpp>

#include <map>
#include <optional>
#include <vector>

namespace ftsync::sync {

enum class action_kind {
  pull,      // take the remote version (file, directory or tombstone)
  push,      // give the local version
  merge,     // same data, concurrent histories: record the merged vector, push it
  conflict,  // different contents: keep both
};

struct action {
  action_kind kind = action_kind::pull;
  rel_path path;
  std::optional<index::file_entry> local;
  std::optional<index::file_entry> remote;
  // pull/push of a live file: a path on the giving side that was deleted
  // and held the same content (a rename or move; no data needed).
  std::optional<rel_path> rename_from;
  // pull/push after a delete-vs-edit: the receiver records the merged vector.
  bool merge_versions = false;
  bool remote_wins = false;  // conflict: whose version keeps the name
};

using entry_map = std::map<rel_path, index::file_entry>;

std::vector<action> plan(const entry_map& local, const entry_map& remote, const index::ignore_matcher& ignore);

// Order of execution: directories to create (parents first), then files
// (renames before everything that could reuse or delete their source), then
// file deletions, then directory deletions (children first), then files
// that replace a directory (which those deletions emptied).
void order_for_execution(std::vector<action>& actions);

}  // namespace ftsync::sync
