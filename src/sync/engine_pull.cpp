// Pulls: local deletions, directories, renames and metadata, and files
// built from the peer's chunks, many at a time (fetch_many).
#include "sync/engine_impl.hpp"

#include <ftsync/util/log.hpp>
#include <algorithm>

namespace ftsync::sync {

status engine::impl::fetch_many(std::vector<fetch_item>& items) {
  std::map<wire::request_id, std::pair<std::size_t, std::uint64_t>> by_id;  // -> item, chunk (or k_list_page)
  std::vector<std::size_t> active;
  std::size_t next_item = 0, data_out = 0;
  auto finish = [&](std::size_t i, status st) {
    auto& x = items[i];
    x.done = true;
    x.result = std::move(st);
    x.b.reset();  // closes the partial file; its verified chunks stay for a resume
    active.erase(std::find(active.begin(), active.end(), i));
  };
  auto ask_page = [&](std::size_t i) -> status {
    auto& x = items[i];
    const auto id = next_id++;
    FTSYNC_TRY(s.send(wire::sync_chunks_request{id, to_remote(x.remote.path), x.remote.hash, x.list_first}));
    by_id.emplace(id, std::pair{i, k_list_page});
    ++x.outstanding;
    return {};
  };
  auto commit_if_complete = [&](std::size_t i) {
    auto& x = items[i];
    if (x.done || x.listing || x.next < x.need.size() || x.outstanding > 0) return;
    auto st = x.b->commit(x.expect, [this] { s.keep_alive(); });
    if (st) {
      t.bytes += x.got;
      t.bytes_received += x.got;
      t.reused_bytes += x.b->counters().reused_bytes;
      t.resumed_bytes += x.b->counters().resumed_bytes;
    }
    finish(i, std::move(st));
  };
  mono_time heard = mono_now();
  while (true) {
    if (o.stop && o.stop->load()) return make_error(errc::cancelled, "interrupted");
    while (next_item < items.size() && active.size() < k_fetch_files) {
      const std::size_t i = next_item++;
      auto& x = items[i];
      status st = file_builder::make_way(f, x.target, x.expect);
      if (st) {
        auto b = file_builder::open(f, x.target, x.want);
        if (b) x.b.emplace(std::move(*b));
        else st = std::move(b).err();
      }
      if (!st) {
        x.done = true;
        x.result = std::move(st);
        continue;
      }
      active.push_back(i);
      FTSYNC_TRY(ask_page(i));
    }
    for (std::size_t i : active) {
      auto& x = items[i];
      while (!x.listing && x.next < x.need.size() && data_out < k_pull_window) {
        const auto& c = x.b->chunks()[x.need[x.next]];
        const auto id = next_id++;
        FTSYNC_TRY(s.send(wire::sync_data_request{id, to_remote(x.remote.path), c.offset, c.size, c.hash}));
        by_id.emplace(id, std::pair{i, x.need[x.next]});
        ++x.next;
        ++x.outstanding;
        ++data_out;
      }
    }
    if (by_id.empty()) {
      if (active.empty() && next_item == items.size()) return {};
      continue;
    }
    auto m = poll_reply(heard, 100ms);
    if (!m) return std::move(m).err();
    if (!*m) continue;
    auto it = by_id.find(request_id_of(**m));
    if (it == by_id.end()) return make_error(errc::unexpected_message, "a reply nobody asked for");
    const auto [i, chunk] = it->second;
    by_id.erase(it);
    auto& x = items[i];
    --x.outstanding;
    if (chunk != k_list_page) --data_out;
    if (x.done) continue;  // answers still on their way when the file failed
    if (auto* e = std::get_if<wire::error_reply>(&**m)) {
      finish(i, error{e->code, e->message, true});
      continue;
    }
    if (chunk == k_list_page) {
      auto* page = std::get_if<wire::sync_chunks_reply>(&**m);
      if (!page) return make_error(errc::unexpected_message, "expected a chunk list");
      std::vector<index::chunk> chunks;
      for (const auto& c : page->chunks) chunks.push_back(from_wire(c));
      auto n = x.b->add_chunks(chunks);
      if (!n) return std::move(n).err();  // a broken chunk list: the peer is broken
      x.need.insert(x.need.end(), n->begin(), n->end());
      x.list_first += page->chunks.size();
      if (page->more) {
        if (page->chunks.empty()) return make_error(errc::malformed, "empty chunk page with more set");
        FTSYNC_TRY(ask_page(i));
      } else if (!x.b->list_complete()) {
        return make_error(errc::malformed, "chunk list of '" + x.remote.path.str() + "' is short");
      } else {
        x.listing = false;
      }
    } else {
      auto* d = std::get_if<wire::sync_data_reply>(&**m);
      if (!d) return make_error(errc::unexpected_message, "expected chunk data");
      if (auto st = x.b->put(chunk, d->data); !st) {
        finish(i, std::move(st));
        continue;
      }
      x.got += d->data.size();
    }
    commit_if_complete(i);
  }
}

status engine::impl::fetch(const file_entry& remote, const rel_path& target, file_entry want,
                           const std::optional<file_entry>& expect) {
  if (remote.kind == entry_kind::symlink) return file_builder::place_symlink(f, target, want, expect);
  std::vector<fetch_item> one(1);
  one[0].remote = remote;
  one[0].target = target;
  one[0].want = std::move(want);
  one[0].expect = expect;
  FTSYNC_TRY(fetch_many(one));
  return one[0].result;
}

status engine::impl::record_local(file_entry e, const std::vector<index::chunk>* chunks) {
  if (!e.deleted) {
    auto st = f.root().stat(e.path);
    if (st) {
      e.inode = st->inode;
      e.ctime_ns = st->ctime_ns;
      if (e.kind == entry_kind::file) e.mtime_ns = st->mtime_ns, e.size = st->size;
      e.mode = st->mode;
    }
  }
  return f.db().put(e, chunks);
}

status engine::impl::pull(const action& a, std::vector<fetch_item>& fetches) {
  const file_entry& r = *a.remote;
  const auto& l = a.local;
  file_entry want = r;
  if (a.merge_versions && l) want.version = r.version.merged(l->version);
  auto& root = f.root();
  if (r.deleted) {
    if (!l || l->deleted) return f.db().put(want);
    if (l->kind == entry_kind::directory) {
      auto rm = root.remove_dir(a.path);
      if (!rm && rm.code() == errc::not_empty) {
        // Files we still have live here (new ones, or ignored ones): the
        // directory stays and our version of it wins.
        file_entry keep = *l;
        keep.version = l->version.merged(r.version);
        keep.version.bump(f.me(), now_s());
        return f.db().put(keep);
      }
      if (!rm && rm.code() != errc::not_found) return rm;
    } else {
      if (!f.disk_matches(*l) && root.stat(a.path).code() != errc::not_found)
        return make_error(errc::already_exists, "'" + a.path.str() + "' changed locally; not deleted");
      auto rm = root.remove_file(a.path);
      if (!rm && rm.code() != errc::not_found) return rm;
    }
    want.kind = l->kind;
    FTSYNC_TRY(f.db().put(want));
    ++t.deleted;
    emit(a.path.str(), "deleted_local", 0, 0);
    return {};
  }
  if (r.kind == entry_kind::directory) {
    auto st = root.stat(a.path);
    if (st && st->kind != store::file_kind::directory) {
      // The peer's directory descends from our file (it saw it): replace
      // the file, unless it changed since the scan.
      if (!(l && !l->deleted && l->kind != entry_kind::directory && f.disk_matches(*l)))
        return make_error(errc::already_exists, "'" + a.path.str() + "' is a file here");
      FTSYNC_TRY(root.remove_file(a.path));
      st = root.stat(a.path);
    }
    FTSYNC_TRY(root.make_dir(a.path, true, r.mode));
    (void)root.set_mode(a.path, r.mode);
    FTSYNC_TRY(record_local(want));
    if (!st) ++t.dirs, emit(a.path.str(), "dir", 0, 0);
    return {};
  }
  // A file. Same content here: metadata only, unless the file has other
  // hard links (store::root leaves their metadata alone): then it is
  // rebuilt below from its own chunks, which replaces the link.
  if (r.kind == entry_kind::file && l && !l->deleted && l->kind == entry_kind::file && l->hash == r.hash &&
      l->size == r.size && !f.has_other_links(a.path)) {
    if (!f.disk_matches(*l)) return make_error(errc::already_exists, "'" + a.path.str() + "' changed locally");
    FTSYNC_TRY(root.set_mode(a.path, r.mode));
    FTSYNC_TRY(root.set_mtime(a.path, r.mtime_ns));
    auto chunks = f.db().chunks(a.path);
    if (!chunks) return std::move(chunks).err();
    FTSYNC_TRY(record_local(want, &*chunks));
    ++t.files;
    emit(a.path.str(), "meta", r.size, 0);
    return {};
  }
  // A rename: the deleted source still holds this content, unchanged.
  if (a.rename_from && (!l || l->deleted)) {
    auto src = f.db().get(*a.rename_from);
    if (src && *src && !(*src)->deleted && (*src)->hash == r.hash && f.disk_matches(**src) &&
        root.stat(a.path).code() == errc::not_found) {
      auto chunks = f.db().chunks(*a.rename_from);
      if (!chunks) return std::move(chunks).err();
      if (!a.path.parent().is_root()) FTSYNC_TRY(root.make_dir(a.path.parent(), true));
      FTSYNC_TRY(root.rename(*a.rename_from, a.path));
      (void)root.set_mode(a.path, r.mode);
      (void)root.set_mtime(a.path, r.mtime_ns);
      FTSYNC_TRY(record_local(want, &*chunks));
      ++t.renamed;
      emit(a.path.str(), "renamed_local", r.size, 0, a.rename_from->str());
      return {};
    }
  }
  if (r.kind == entry_kind::symlink) {
    FTSYNC_TRY(file_builder::place_symlink(f, a.path, want, l));
    ++t.files;
    emit(a.path.str(), "pulled", r.size, 0);
    return {};
  }
  fetch_item x;
  x.remote = r;
  x.target = a.path;
  x.want = std::move(want);
  x.expect = l;
  fetches.push_back(std::move(x));
  return {};
}

}  // namespace ftsync::sync
