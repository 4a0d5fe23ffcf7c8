// Conflicts: both versions kept, one under a conflict name.
#include "sync/engine_impl.hpp"

#include <ftsync/util/log.hpp>

namespace ftsync::sync {

status engine::impl::conflict(const action& a) {
  const file_entry& l = *a.local;
  const file_entry& r = *a.remote;
  auto& root = f.root();
  const std::int64_t when = wall_now_ns() / 1'000'000'000;
  const std::string loser_id = a.remote_wins ? o.my_short_id : o.peer_short_id;
  auto name = index::conflict_name(a.path.name(), when, loser_id);
  auto copy = a.path.parent().join(name);
  if (!copy) return std::move(copy).err();
  if (root.stat(*copy).code() != errc::not_found)
    return make_error(errc::already_exists, "conflict copy '" + copy->str() + "' exists already");
  if (a.remote_wins) {
    // Ours moves aside (it stays a file of ours: a new path we push next);
    // theirs takes the name.
    if (!f.disk_matches(l)) return make_error(errc::already_exists, "'" + a.path.str() + "' changed locally");
    auto chunks = f.db().chunks(a.path);
    if (!chunks) return std::move(chunks).err();
    FTSYNC_TRY(root.rename(a.path, *copy));
    file_entry moved = l;
    moved.path = *copy;
    moved.version = {};
    moved.version.bump(f.me(), now_s());
    FTSYNC_TRY(record_local(moved, l.kind == entry_kind::file ? &*chunks : nullptr));
    if (r.kind == entry_kind::directory) {
      FTSYNC_TRY(root.make_dir(a.path, true, r.mode));
      FTSYNC_TRY(record_local(r));
    } else {
      FTSYNC_TRY(fetch(r, a.path, r, std::nullopt));
    }
  } else {
    if (r.kind == entry_kind::directory)
      return make_error(errc::unsupported, "'" + a.path.str() + "' is a directory on the peer and a file here");
    // Theirs is fetched into the conflict copy (a new file of ours, pushed
    // next); ours keeps the name and wins over their version (for a
    // directory here, the server replaces its file by the directory).
    file_entry theirs = r;
    theirs.path = *copy;
    theirs.version = {};
    theirs.version.bump(f.me(), now_s());
    FTSYNC_TRY(fetch(r, *copy, theirs, std::nullopt));
    file_entry mine = l;
    mine.version = l.version.merged(r.version);
    mine.version.bump(f.me(), now_s());
    FTSYNC_TRY(f.db().put(mine));
    FTSYNC_TRY(push_entry(mine, r, std::nullopt));
  }
  ++t.conflicts;
  log::warn("conflict: '" + escape_for_log(a.path.str()) + "' changed on both sides; kept the " +
            (a.remote_wins ? "peer's" : "local") + " version, the other is '" + escape_for_log(copy->str()) + "'");
  emit(a.path.str(), "conflict", a.remote_wins ? r.size : l.size, 0, copy->str());
  return {};
}

}  // namespace ftsync::sync
