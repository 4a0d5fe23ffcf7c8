// Index update apply behind the sync wire messages (issue 5 "index update
// apply"; research/security.md D6): what a sync client does with the index
// pages a hostile server sends. Each frame goes through wire::decode with
// the client's limits; every sync_index_reply's records take the same steps
// as engine::read_remote_index (from_wire, the remote folder's prefix
// stripped, put_remote into the peer cache of a real index::database), and
// the cache is then planned against the local folder's own index
// (sync::plan, order_for_execution) and the disk-side steps of the engine's
// pull are applied through the confined root: tombstones remove, directories
// are made, renames move, symlinks are placed (their targets verbatim: a
// link out of the root must never be followed later), files open a partial
// file and take the chunk list the record implies. The local folder is fuzz::sandbox's root (symlinks out
// of it, a FIFO, a self-loop); no hard link, so every write inside the root
// is allowed and <sandbox>/outside must never change.
//
// Input: [flags][u16 length, frame]... ; flags bit 0 syncs with the remote
// folder "docs" instead of the peer's root, bit 1 makes this node's device id
// the one the records use most (so versions compare as descendants).
// Invariants: nothing throws or aborts; every planned path is a valid,
// non-root rel_path that round-trips and has no reserved component; a remote
// entry's path is its action's path; <sandbox>/outside unchanged.
#include "fuzz/sandbox.hpp"
#include "sync/convert.hpp"
#include "sync/file_builder.hpp"

#include <ftsync/index/entry.hpp>
#include <ftsync/sync/folder.hpp>
#include <ftsync/sync/planner.hpp>
#include <ftsync/util/log.hpp>
#include <ftsync/wire/codec.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstdint>
#include <string>
#include <variant>

namespace {

using namespace ftsync;
using fuzz::require;
namespace fs = std::filesystem;

constexpr std::string_view k_peer = "fuzzpeer:docs";

bool valid_planned(const rel_path& p) {
  if (p.is_root()) return false;
  auto again = rel_path::parse(p.str());
  if (!again || !(*again == p)) return false;
  for (rel_path q = p; !q.is_root(); q = q.parent())
    if (is_reserved_name(q.name())) return false;
  return true;
}

// The remote folder's prefix stripped, as engine::impl::from_remote does.
std::optional<rel_path> from_remote(const rel_path& remote_dir, const rel_path& p) {
  if (remote_dir.is_root()) return p;
  if (!p.starts_with(remote_dir) || p == remote_dir) return std::nullopt;
  auto r = rel_path::parse(std::string_view(p.str()).substr(remote_dir.str().size() + 1));
  if (!r) return std::nullopt;
  return *r;
}

// The disk-side part of engine::impl::pull for one action; errors are
// expected (a path through a symlink, a FIFO in the way) and ignored.
void apply_pull(sync::folder& f, const sync::action& a) {
  const index::file_entry& r = *a.remote;
  const auto& l = a.local;
  auto& root = f.root();
  if (r.deleted) {
    if (!l || l->deleted) return;
    if (l->kind == index::entry_kind::directory) {
      (void)root.remove_dir(a.path);
    } else if (f.disk_matches(*l)) {
      (void)root.remove_file(a.path);
    }
    return;
  }
  if (r.kind == index::entry_kind::directory) {
    (void)root.make_dir(a.path, true, r.mode);
    (void)root.set_mode(a.path, r.mode);
    return;
  }
  if (r.kind == index::entry_kind::symlink) {
    (void)sync::file_builder::place_symlink(f, a.path, r, l);
    return;
  }
  if (a.rename_from && (!l || l->deleted) && root.stat(a.path).code() == errc::not_found) {
    if (!a.path.parent().is_root()) (void)root.make_dir(a.path.parent(), true);
    (void)root.rename(*a.rename_from, a.path);
    return;
  }
  if (!a.path.parent().is_root()) (void)root.make_dir(a.path.parent(), true);
  auto b = sync::file_builder::open(f, a.path, r);
  if (!b) return;
  // One page of the chunk list a record of this size implies (at most 4
  // chunks, so a huge size cannot make the page huge).
  std::vector<index::chunk> page;
  std::uint64_t off = 0;
  for (int i = 0; i < 4 && off < r.size; ++i) {
    const std::uint64_t n = std::min<std::uint64_t>(r.size - off, 64 * 1024);
    page.push_back(index::chunk{off, static_cast<std::uint32_t>(n), r.hash});
    off += n;
  }
  if (!page.empty()) (void)b->add_chunks(page);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::sandbox box("sync-apply");
  static const bool quiet = (log::set_level(log::level::error), true);
  (void)quiet;
  if (size == 0) return 0;
  const bool in_docs = (data[0] & 1) != 0;
  const index::device_id me = (data[0] & 2) != 0 ? index::device_id{7} : index::device_id{0x1234};
  box.rebuild_root(false);
  const fs::path db_file = box.base / "sync-apply.db";
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) {
    std::error_code ec;
    fs::remove(db_file.string() + suffix, ec);
  }
  const rel_path remote_dir = in_docs ? *rel_path::parse("docs") : rel_path{};

  {
    auto opened = sync::folder::open(box.root_dir, db_file, me, false);
    require(opened.ok());
    sync::folder& f = **opened;
    require(f.rescan().ok());

    // The peer cache, filled page by page as the engine does.
    index::peer_state st{};
    const std::uint8_t* p = data + 1;
    const std::uint8_t* end = data + size;
    for (int frames = 0; frames < 16 && end - p >= 2; ++frames) {
      const std::size_t len = std::min<std::size_t>(static_cast<std::size_t>(p[0] | (p[1] << 8)),
                                                    static_cast<std::size_t>(end - p - 2));
      const byte_view frame(p + 2, len);
      p += 2 + len;
      auto m = wire::decode(frame);
      if (!m) continue;
      auto* reply = std::get_if<wire::sync_index_reply>(&*m);
      if (!reply) continue;
      require(f.db().begin().ok());
      if (reply->index_id != st.index_id) {
        require(f.db().clear_remote(k_peer).ok());
        st = index::peer_state{reply->index_id, 0};
      }
      for (const auto& rec : reply->records) {
        auto e = sync::from_wire(rec);
        if (!e) continue;
        require(valid_planned(e->path) || e->path.is_root());
        st.sequence = std::max(st.sequence, rec.sequence);
        auto local = from_remote(remote_dir, e->path);
        if (!local) continue;
        e->path = *local;
        (void)f.db().put_remote(k_peer, *e);
      }
      (void)f.db().set_peer(k_peer, st);
      require(f.db().commit().ok());
    }

    auto remote_rows = f.db().remote_all(k_peer);
    require(remote_rows.ok());
    auto local_rows = f.db().all();
    require(local_rows.ok());
    sync::entry_map remote, local;
    for (auto& e : *remote_rows) remote.emplace(e.path, e);
    for (auto& e : *local_rows) local.emplace(e.path, e);
    for (const auto& [path, e] : remote) require(valid_planned(path) && e.path == path);

    auto actions = sync::plan(local, remote, f.ignore());
    sync::order_for_execution(actions);
    // FTSYNC_FUZZ_TRACE=1: what each input planned (to see a seed is not vacuous).
    static const bool trace = std::getenv("FTSYNC_FUZZ_TRACE") != nullptr;
    if (trace)
      for (const auto& a : actions)
        std::fprintf(stderr, "plan %d %s%s\n", static_cast<int>(a.kind), a.path.str().c_str(),
                     a.remote && a.remote->deleted ? " (deleted)" : "");
    for (const auto& a : actions) {
      require(valid_planned(a.path));
      if (a.remote) require(a.remote->path == a.path);
      if (a.local) require(a.local->path == a.path);
      if (a.rename_from) require(valid_planned(*a.rename_from));
      if (a.kind == sync::action_kind::conflict) {
        // The loser's copy sits beside the path (when its name fits, as the
        // engine checks with join) and is a valid path too.
        const auto name = index::conflict_name(a.path.name(), 1700000000, "peer");
        auto copy = a.path.parent().join(name);
        if (copy) require(valid_planned(*copy) && copy->parent() == a.path.parent());
      }
      if (a.kind == sync::action_kind::pull && a.remote) apply_pull(f, a);
    }
  }
  require(box.describe(box.outside) == box.outside_fingerprint);
  if (std::getenv("FTSYNC_FUZZ_TRACE") != nullptr)
    std::fprintf(stderr, "root after:\n%s\n", box.describe(box.root_dir).c_str());
  return 0;
}
