#include "sync/engine_impl.hpp"

#include <ftsync/util/log.hpp>

namespace ftsync::sync {

void sync_totals::add(const sync_totals& o) {
  files += o.files;
  dirs += o.dirs;
  deleted += o.deleted;
  renamed += o.renamed;
  conflicts += o.conflicts;
  bytes += o.bytes;
  bytes_sent += o.bytes_sent;
  bytes_received += o.bytes_received;
  reused_bytes += o.reused_bytes;
  resumed_bytes += o.resumed_bytes;
  failed += o.failed;
  pending = o.pending;
  pending_bytes = o.pending_bytes;
  rounds += o.rounds;
  hashed_files += o.hashed_files;
}

status engine::impl::read_remote_index() {
  auto ps = f.db().peer(cache_key);
  if (!ps) return std::move(ps).err();
  index::peer_state st = *ps;
  remote_new = 0;
  while (true) {
    auto reply = call_as<wire::sync_index_reply>(wire::sync_index_request{next_id++, st.index_id, st.sequence});
    if (!reply) return std::move(reply).err();
    FTSYNC_TRY(f.db().begin());
    auto body = [&]() -> status {
      if (reply->index_id != st.index_id) {
        // A new index on the peer (first contact, or its database was
        // recreated): its sequences restarted, our cache is void.
        FTSYNC_TRY(f.db().clear_remote(cache_key));
        st = index::peer_state{reply->index_id, 0};
        planned_fully = false;
      }
      for (const auto& rec : reply->records) {
        auto e = from_wire(rec);
        ++remote_new;
        if (!e) {
          log::warn("sync: skipping a bad record from the peer: " + e.err().message);
          continue;
        }
        st.sequence = std::max(st.sequence, rec.sequence);
        auto local = from_remote(e->path);
        if (!local) continue;  // outside the synced remote folder
        e->path = *local;
        FTSYNC_TRY(f.db().put_remote(cache_key, *e));
        if (remote_dirty.size() <= k_incremental_plan_max) remote_dirty.insert(e->path);
      }
      return f.db().set_peer(cache_key, st);
    };
    if (auto r = body(); !r) {
      f.db().rollback();
      return std::move(r).err();
    }
    FTSYNC_TRY(f.db().commit());
    if (!reply->more) break;
  }
  return {};
}

status engine::impl::load_for_plan(entry_map& local, entry_map& remote) {
  auto top = f.db().max_sequence();  // before reading: later writes count next time
  if (!top) return std::move(top).err();
  std::vector<index::file_entry> written;
  if (planned_fully) {
    auto w = f.db().changed_since(planned_seq, k_incremental_plan_max + 1);
    if (!w) return std::move(w).err();
    written = std::move(*w);
  }
  const bool full = !planned_fully || written.size() + remote_dirty.size() + carried.size() > k_incremental_plan_max;
  if (full) {
    auto all = f.db().all();
    if (!all) return std::move(all).err();
    for (auto& e : *all) local.emplace(e.path, std::move(e));
    auto rall = f.db().remote_all(cache_key);
    if (!rall) return std::move(rall).err();
    for (auto& e : *rall) remote.emplace(e.path, std::move(e));
  } else {
    std::set<rel_path> paths = std::move(remote_dirty);
    paths.insert(carried.begin(), carried.end());
    for (auto& e : written) paths.insert(e.path);
    for (const auto& p : paths) {
      auto l = f.db().get(p);
      if (!l) return std::move(l).err();
      if (*l) local.emplace(p, std::move(**l));
      auto r = f.db().remote_get(cache_key, p);
      if (!r) return std::move(r).err();
      if (*r) remote.emplace(p, std::move(**r));
    }
  }
  planned_fully = true;
  planned_seq = *top;
  remote_dirty.clear();
  return {};
}

result<sync_totals> engine::impl::round(bool scan_local, std::optional<std::vector<rel_path>> changed) {
  t = sync_totals{};
  t.rounds = 1;
  bool local_changed = false;
  // A full rescan (start, --once, the periodic one) also plans every path.
  if (scan_local && !changed) planned_fully = false;
  if (scan_local) {
    auto keep_alive = [this] { s.keep_alive(); };
    auto scanned = changed ? f.rescan_paths(std::move(*changed), keep_alive) : f.rescan(keep_alive);
    if (!scanned) return std::move(scanned).err();
    t.hashed_files = scanned->hashed_files;
    local_changed = scanned->changed + scanned->deleted > 0;
  }
  FTSYNC_TRY(read_remote_index());
  // So do new ignore rules: what was hidden may now need an action.
  if (f.ignore_generation() != planned_ignore) planned_fully = false;
  if (clean && !local_changed && remote_new == 0 && planned_fully) return t;
  clean = false;
  planned_ignore = f.ignore_generation();
  entry_map local, remote;
  FTSYNC_TRY(load_for_plan(local, remote));
  auto actions = plan(local, remote, f.ignore());
  clean = actions.empty();
  carried.clear();
  for (const auto& a : actions) carried.push_back(a.path);
  // A lost session ends the round; anything else is one path that the
  // next round retries.
  auto settle = [this](const rel_path& path, status r) -> status {
    if (r) return {};
    if (ends_round(r.code())) return r;
    ++t.failed;
    log::info("sync: '" + escape_for_log(path.str()) + "': " + r.err().message + " (retried next round)");
    return {};
  };
  // Consecutive pushes and merges go to the peer together (push_many), and
  // so do consecutive pulls of files (fetch_many); anything else waits until
  // they are done, so the plan's order holds.
  std::vector<push_item> pushes;
  std::vector<fetch_item> fetches;
  auto flush = [&]() -> status {
    if (!pushes.empty()) {
      FTSYNC_TRY(push_many(pushes));
      for (auto& x : pushes) FTSYNC_TRY(settle(x.l.path, std::move(x.result)));
      pushes.clear();
    }
    if (!fetches.empty()) {
      FTSYNC_TRY(fetch_many(fetches));
      for (auto& x : fetches) {
        if (x.result) ++t.files, emit(x.target.str(), "pulled", x.remote.size, x.got);
        FTSYNC_TRY(settle(x.target, std::move(x.result)));
      }
      fetches.clear();
    }
    return {};
  };
  for (const auto& a : actions) {
    if (o.stop && o.stop->load()) return make_error(errc::cancelled, "interrupted");
    if (a.kind == action_kind::push || a.kind == action_kind::merge) {
      if (!fetches.empty()) FTSYNC_TRY(flush());
      auto x = push_item_for(a);
      if (!x) {
        FTSYNC_TRY(settle(a.path, std::move(x).err()));
        continue;
      }
      pushes.push_back(std::move(*x));
      if (pushes.size() >= k_batch) FTSYNC_TRY(flush());
      continue;
    }
    if (a.kind == action_kind::pull) {
      // A deletion, directory or symlink is applied at once: the files
      // queued before it go first.
      const bool queues = !a.remote->deleted && a.remote->kind == entry_kind::file;
      if (!pushes.empty() || (!queues && !fetches.empty())) FTSYNC_TRY(flush());
      FTSYNC_TRY(settle(a.path, pull(a, fetches)));
      if (fetches.size() >= k_batch) FTSYNC_TRY(flush());
      continue;
    }
    FTSYNC_TRY(flush());
    FTSYNC_TRY(settle(a.path, conflict(a)));
  }
  FTSYNC_TRY(flush());
  t.pending = actions.size();
  for (const auto& a : actions) {
    const auto& e = a.kind == action_kind::pull ? a.remote : a.local;
    if (e && !e->deleted) t.pending_bytes += e->size;
  }
  return t;
}

engine::engine(folder& local, session::client& session, engine_options opts)
    : m_impl(std::make_shared<impl>(local, session, std::move(opts))) {}

result<sync_totals> engine::round(bool scan_local) { return m_impl->round(scan_local); }

result<sync_totals> engine::round_changed(std::vector<rel_path> changed) {
  return m_impl->round(true, std::move(changed));
}

result<sync_totals> engine::run_once() {
  sync_totals total;
  for (int i = 0; i < k_max_rounds; ++i) {
    auto r = m_impl->round(true);
    if (!r) return std::move(r).err();
    const std::uint64_t done = r->files + r->dirs + r->deleted + r->renamed + r->conflicts;
    total.add(*r);
    if (r->pending == 0) return total;
    if (done == 0 && r->failed == r->pending && i >= 2) break;  // stuck: report what is left
  }
  // The last round's plan was not empty: what is still to do is pending.
  auto last = m_impl->round(true);
  if (!last) return std::move(last).err();
  total.add(*last);
  return total;
}

}  // namespace ftsync::sync
