#include <ftsync/sync/engine.hpp>

#include "sync/convert.hpp"
#include "sync/file_builder.hpp"

#include <ftsync/util/clock.hpp>
#include <ftsync/util/log.hpp>

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <set>

namespace ftsync::sync {

using namespace std::chrono_literals;
using index::entry_kind;
using index::file_entry;

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

namespace {

// Chunk requests in flight while pulling, across all files: 32 x 64 KiB
// (average chunk) = 2 MiB, enough to keep one connection busy without
// queueing megabytes behind a slow link.
constexpr std::size_t k_pull_window = 32;
// Unacknowledged bytes we let the session queue while pushing chunk data
// (the same bound ops::remote uses for push, limits::send_window_bytes / 4).
constexpr std::size_t k_push_window_bytes = 4 * 1024 * 1024;
constexpr std::size_t k_chunks_per_page = 2048;
// Sync puts open at once: enough to keep the server's commits (two fsyncs
// each) back to back, well under limits::max_open_transfers (64) uploads a
// server allows per session.
constexpr std::size_t k_puts_in_flight = 32;
// Files pulled at once (each holds a partial file open while it is built).
constexpr std::size_t k_fetch_files = 16;
// Pushes or pulls gathered before they are sent (bounds a batch's memory only).
constexpr std::size_t k_batch = 1024;
constexpr int k_max_rounds = 8;
// Above this many paths to plan, loading both whole indexes (one query
// each) is cheaper than a lookup per path.
constexpr std::size_t k_incremental_plan_max = 20000;

wire::request_id id_of(const wire::message& m) {
  return std::visit(
      [](const auto& v) -> wire::request_id {
        if constexpr (requires { v.id; }) return v.id;
        return 0;
      },
      m);
}

std::uint64_t now_s() { return static_cast<std::uint64_t>(wall_now_ns() / 1'000'000'000); }

}  // namespace

struct engine::impl {
  folder& f;
  session::client& s;
  engine_options o;
  wire::request_id next_id = 1;
  sync_totals t;  // of the current round
  // The last round found nothing to do; until the local scan or the peer's
  // index shows a change, a background poll skips planning (for 100k files
  // loading both indexes and planning takes ~0.5 s, every 250 ms otherwise).
  bool clean = false;
  std::uint64_t remote_new = 0;  // records the last index read brought
  // Incremental planning: after one full plan, a round plans only the paths
  // that can differ: local entries written since the last plan (sequence
  // above planned_seq), records the peer sent since, and the paths of the
  // last plan's actions (failed ones are retried, done ones confirmed). A
  // path in none of these was equal on both sides at the last plan and has
  // not changed on either since.
  bool planned_fully = false;
  std::uint64_t planned_seq = 0;
  std::set<rel_path> remote_dirty;  // paths of records received since the last plan
  std::vector<rel_path> carried;    // the last plan's action paths
  std::uint64_t planned_ignore = 0;  // folder::ignore_generation() at the last plan

  impl(folder& fo, session::client& se, engine_options op) : f(fo), s(se), o(std::move(op)) {
    cache_key = o.peer_key + ":" + o.remote_dir.str();
  }
  std::string cache_key;  // the peer's index is cached per peer and remote folder

  // Local paths are relative to the local folder, the peer's to its served
  // root; the synced remote folder is o.remote_dir inside it.
  std::string to_remote(const rel_path& p) const { return o.remote_dir.join(p).str(); }
  std::optional<rel_path> from_remote(const rel_path& p) const {
    if (o.remote_dir.is_root()) return p;
    if (!p.starts_with(o.remote_dir) || p == o.remote_dir) return std::nullopt;
    auto r = rel_path::parse(std::string_view(p.str()).substr(o.remote_dir.str().size() + 1));
    if (!r) return std::nullopt;
    return *r;
  }

  void emit(std::string path, std::string action, std::uint64_t size, std::uint64_t data, std::string note = {}) {
    if (o.on_event) o.on_event(sync_event{std::move(path), std::move(action), size, data, std::move(note)});
  }

  // Waits for the next message, as long as the peer may still answer.
  result<wire::message> next_message() {
    const auto asked = mono_now();
    while (!s.reply_overdue(asked)) {
      auto m = s.receive(100ms);
      if (!m) return std::move(m).err();
      if (*m) return std::move(**m);
    }
    return make_error(errc::timeout, "the peer stopped answering");
  }

  // Waits for the reply to request `id`; error_reply becomes a remote error.
  result<wire::message> wait_reply(wire::request_id id) {
    auto m = next_message();
    if (!m) return m;
    if (id_of(*m) != id)
      return make_error(errc::unexpected_message,
                        std::string("unexpected ") + wire::type_name(wire::type_of(*m)) + " from the peer");
    if (auto* e = std::get_if<wire::error_reply>(&*m)) return error{e->code, e->message, true};
    return m;
  }

  // One message if one arrives within `wait` (`heard`: when the peer last
  // answered, moved on by each message); a timeout once the peer is overdue.
  result<std::optional<wire::message>> poll_reply(mono_time& heard, std::chrono::milliseconds wait) {
    auto m = s.receive(wait);
    if (!m) return std::move(m).err();
    if (*m) heard = mono_now();
    else if (s.reply_overdue(heard)) return make_error(errc::timeout, "the peer stopped answering");
    return m;
  }

  result<wire::message> call(wire::message m) {
    const auto id = id_of(m);
    FTSYNC_TRY(s.send(m));
    return wait_reply(id);
  }

  template <class T>
  result<T> call_as(wire::message m) {
    auto r = call(std::move(m));
    if (!r) return std::move(r).err();
    if (auto* x = std::get_if<T>(&*r)) return std::move(*x);
    return make_error(errc::unexpected_message,
                      std::string("unexpected ") + wire::type_name(wire::type_of(*r)) + " from the peer");
  }

  // ---------------------------------------------------------------- index
  // Brings the cached copy of the peer's index up to date.
  status read_remote_index() {
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

  // Both sides' entries for every path that can need an action (see
  // planned_fully), or for all paths when that set is large or unknown.
  status load_for_plan(entry_map& local, entry_map& remote) {
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

  // ---------------------------------------------------------------- pull
  // Files built from the peer's chunks, up to k_fetch_files at once: each
  // asks for its chunk list, then for the chunks it finds nowhere locally,
  // with at most k_pull_window chunk requests open across all of them, so
  // the round trips of different files overlap.
  struct fetch_item {
    file_entry remote;  // the peer's entry (its path is the peer's name for it)
    rel_path target;
    file_entry want;
    std::optional<file_entry> expect;
    std::optional<file_builder> b;
    std::vector<std::uint64_t> need;
    std::size_t next = 0;         // need[next] is the next chunk to ask for
    std::size_t outstanding = 0;  // requests sent and not answered
    std::uint64_t list_first = 0;
    bool listing = true;
    bool done = false;
    std::uint64_t got = 0;  // chunk bytes received
    status result;
  };
  static constexpr std::uint64_t k_list_page = ~std::uint64_t{0};

  status fetch_many(std::vector<fetch_item>& items) {
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
      auto it = by_id.find(id_of(**m));
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

  // Builds `target` locally from the peer's file `remote` (at remote.path).
  std::uint64_t last_pulled_bytes = 0;  // chunk data the last pull_content received

  status pull_content(const file_entry& remote, const rel_path& target, file_entry want,
                      const std::optional<file_entry>& expect) {
    std::vector<fetch_item> one(1);
    one[0].remote = remote;
    one[0].target = target;
    one[0].want = std::move(want);
    one[0].expect = expect;
    FTSYNC_TRY(fetch_many(one));
    last_pulled_bytes = one[0].got;
    return one[0].result;
  }

  // Puts the peer's version `remote` at `target`: a symlink directly, a
  // file from its chunks.
  status fetch(const file_entry& remote, const rel_path& target, file_entry want,
               const std::optional<file_entry>& expect) {
    if (remote.kind != entry_kind::symlink) return pull_content(remote, target, std::move(want), expect);
    last_pulled_bytes = 0;
    return file_builder::place_symlink(f, target, want, expect);
  }

  status record_local(file_entry e, const std::vector<index::chunk>* chunks = nullptr) {
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

  // With `defer`, a file that needs content from the peer is queued there
  // for fetch_many instead of fetched at once.
  status pull(const action& a, std::vector<fetch_item>* defer = nullptr) {
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
    if (defer && r.kind == entry_kind::file) {
      fetch_item x;
      x.remote = r;
      x.target = a.path;
      x.want = std::move(want);
      x.expect = l;
      defer->push_back(std::move(x));
      return {};
    }
    FTSYNC_TRY(fetch(r, a.path, want, l));
    ++t.files;
    emit(a.path.str(), "pulled", r.size, last_pulled_bytes);
    return {};
  }

  // ---------------------------------------------------------------- push
  // One path given to the peer with sync_put. A file's put carries the
  // first page of its chunk list, so the answer already says which chunks
  // to send; push_many keeps up to k_puts_in_flight puts open, so the round
  // trips, the server's commits (two fsyncs each) and the local reads of
  // different files overlap instead of adding up.
  enum class push_stage { waiting, put_sent, paging, ready, committing, done };
  struct push_item {
    file_entry l;
    std::optional<file_entry> r;
    std::optional<rel_path> from;
    std::vector<index::chunk> chunks;
    push_stage stage = push_stage::waiting;
    std::uint32_t transfer = 0;
    std::size_t pages_due = 0;       // sync_put_chunks pages not yet answered
    std::vector<std::uint64_t> need;
    std::size_t next_need = 0;       // need[next_need] is the next chunk to send
    std::optional<store::reader> reader;
    std::uint64_t sent = 0;
    status result;
  };

  static bool ends_round(errc c) {
    return c == errc::disconnected || c == errc::timeout || c == errc::auth_failed || c == errc::malformed ||
           c == errc::unexpected_message || c == errc::no_space;
  }

  void on_put_ok(const push_item& x) {
    const file_entry& l = x.l;
    if (l.deleted) {
      ++t.deleted;
      emit(l.path.str(), "deleted_remote", 0, 0);
    } else if (l.kind == entry_kind::directory) {
      if (!x.r || x.r->deleted) ++t.dirs, emit(l.path.str(), "dir", 0, 0);
    } else if (l.kind == entry_kind::symlink) {
      ++t.files;
      emit(l.path.str(), "pushed", l.size, 0);
    } else if (x.from) {
      ++t.renamed;
      emit(l.path.str(), "renamed_remote", l.size, 0, x.from->str());
    } else {
      ++t.files;
      emit(l.path.str(), "meta", l.size, 0);
    }
  }

  // Sends item i's put; a local problem fails the item, not the batch.
  status start_put(std::vector<push_item>& items, std::size_t i, std::map<wire::request_id, std::size_t>& by_id) {
    auto& x = items[i];
    const file_entry& l = x.l;
    if (!l.deleted && l.kind != entry_kind::directory && !f.disk_matches(l)) {
      x.stage = push_stage::done;
      x.result = make_error(errc::already_exists, "'" + l.path.str() + "' changed locally since the scan");
      return {};
    }
    wire::sync_put put;
    put.id = next_id++;
    put.record = to_wire(l);
    put.record.path = to_remote(l.path);
    if (x.r) put.base = to_wire(x.r->version);
    if (x.from) put.from = to_remote(*x.from);
    if (!l.deleted && l.kind == entry_kind::file) {
      auto chunks = f.db().chunks(l.path);
      if (!chunks) return std::move(chunks).err();
      x.chunks = std::move(*chunks);
      for (std::size_t c = 0; c < x.chunks.size() && c < k_chunks_per_page; ++c)
        put.chunks.push_back(to_wire(x.chunks[c]));
    }
    FTSYNC_TRY(s.send(put));
    by_id.emplace(put.id, i);
    x.stage = push_stage::put_sent;
    return {};
  }

  // Sends item i's needed chunks while the session's queue has room, then
  // its commit. Returns false when the queue filled first (call again).
  result<bool> send_data(std::vector<push_item>& items, std::size_t i, std::map<wire::request_id, std::size_t>& by_id) {
    auto& x = items[i];
    if (x.next_need < x.need.size() && !x.reader) {
      auto rd = f.root().open_read(x.l.path);
      if (!rd) {
        x.stage = push_stage::done;
        x.result = std::move(rd).err();
        return true;
      }
      x.reader.emplace(std::move(*rd));
    }
    bytes buf;
    for (; x.next_need < x.need.size(); ++x.next_need) {
      if (s.queued_bytes() > k_push_window_bytes) return false;
      const auto& c = x.chunks[x.need[x.next_need]];
      buf.resize(c.size);
      auto got = x.reader->read_at(c.offset, std::span<byte>(buf.data(), c.size));
      if (!got || *got != c.size || crypto::hash_block(buf) != c.hash) {
        // The upload stays open on the server until the session ends (its
        // partial file kept for a later resume); the next round decides.
        x.stage = push_stage::done;
        x.result = got ? make_error(errc::already_exists, "'" + x.l.path.str() + "' changed locally while being sent")
                       : status{std::move(got).err()};
        return true;
      }
      FTSYNC_TRY(s.send(wire::sync_put_data{x.transfer, x.need[x.next_need], buf}));
      x.sent += c.size;
    }
    x.reader.reset();
    const auto id = next_id++;
    FTSYNC_TRY(s.send(wire::sync_put_commit{id, x.transfer}));
    by_id.emplace(id, i);
    x.stage = push_stage::committing;
    return true;
  }

  // The answer to one of item i's requests.
  status on_push_reply(std::vector<push_item>& items, std::size_t i, wire::message& m,
                       std::map<wire::request_id, std::size_t>& by_id, std::deque<std::size_t>& ready) {
    auto& x = items[i];
    if (auto* e = std::get_if<wire::error_reply>(&m)) {
      x.stage = push_stage::done;
      x.result = error{e->code, e->message, true};
      return {};
    }
    auto add_need = [&](const std::vector<std::uint64_t>& indices) -> status {
      for (auto n : indices) {
        if (n >= x.chunks.size()) return make_error(errc::malformed, "the peer asked for a chunk that does not exist");
        x.need.push_back(n);
      }
      return {};
    };
    switch (x.stage) {
      case push_stage::put_sent:
        if (std::holds_alternative<wire::ok>(m)) {
          on_put_ok(x);
          x.stage = push_stage::done;
          return {};
        }
        if (auto* r = std::get_if<wire::sync_put_ready>(&m)) {
          x.transfer = r->transfer;
          FTSYNC_TRY(add_need(r->need));
          // The rest of a chunk list longer than the put's page.
          for (std::size_t first = k_chunks_per_page; first < x.chunks.size(); first += k_chunks_per_page) {
            wire::sync_put_chunks page{next_id++, x.transfer, first, {}};
            for (std::size_t c = first; c < x.chunks.size() && c < first + k_chunks_per_page; ++c)
              page.chunks.push_back(to_wire(x.chunks[c]));
            FTSYNC_TRY(s.send(page));
            by_id.emplace(page.id, i);
            ++x.pages_due;
          }
          x.stage = x.pages_due > 0 ? push_stage::paging : push_stage::ready;
          if (x.stage == push_stage::ready) ready.push_back(i);
          return {};
        }
        break;
      case push_stage::paging:
        if (auto* n = std::get_if<wire::sync_put_need>(&m)) {
          FTSYNC_TRY(add_need(n->indices));
          if (--x.pages_due == 0) {
            x.stage = push_stage::ready;
            ready.push_back(i);
          }
          return {};
        }
        break;
      case push_stage::committing:
        if (std::holds_alternative<wire::ok>(m)) {
          t.bytes += x.sent;
          t.bytes_sent += x.sent;
          ++t.files;
          emit(x.l.path.str(), "pushed", x.l.size, x.sent);
          x.stage = push_stage::done;
          return {};
        }
        break;
      default: break;
    }
    return make_error(errc::unexpected_message,
                      std::string("unexpected ") + wire::type_name(wire::type_of(m)) + " during a sync upload");
  }

  // Every item ends done, with its own result; an error returned here
  // (session lost, peer broken, interrupted) ends the round.
  status push_many(std::vector<push_item>& items) {
    std::map<wire::request_id, std::size_t> by_id;
    std::deque<std::size_t> ready;
    std::size_t next = 0;
    std::size_t in_flight = 0;  // puts sent whose item is not done
    auto ended = [&](std::size_t i) {
      if (items[i].stage == push_stage::done) --in_flight;
    };
    mono_time heard = mono_now();
    while (true) {
      if (o.stop && o.stop->load()) return make_error(errc::cancelled, "interrupted");
      while (next < items.size() && in_flight < k_puts_in_flight) {
        FTSYNC_TRY(start_put(items, next, by_id));
        if (items[next].stage != push_stage::done) ++in_flight;
        ++next;
      }
      while (!ready.empty()) {
        const std::size_t i = ready.front();
        auto sent = send_data(items, i, by_id);
        if (!sent) return std::move(sent).err();
        if (!*sent) break;  // the session's queue is full: wait for acknowledgements
        ready.pop_front();
        ended(i);
      }
      // Done when every item is, and every answer (a failed item's chunk
      // pages too) has arrived, so the next request's answer comes next.
      if (in_flight == 0 && next == items.size() && by_id.empty()) return {};
      if (by_id.empty() && ready.empty()) continue;
      auto m = poll_reply(heard, ready.empty() ? 100ms : 1ms);
      if (!m) return std::move(m).err();
      if (!*m) continue;
      auto it = by_id.find(id_of(**m));
      if (it == by_id.end()) return make_error(errc::unexpected_message, "a reply nobody asked for");
      const std::size_t i = it->second;
      by_id.erase(it);
      if (items[i].stage == push_stage::done) continue;  // a page answered after the item failed
      FTSYNC_TRY(on_push_reply(items, i, **m, by_id, ready));
      ended(i);
    }
  }

  status push_entry(const file_entry& l, const std::optional<file_entry>& r, const std::optional<rel_path>& from) {
    std::vector<push_item> one(1);
    one[0].l = l;
    one[0].r = r;
    one[0].from = from;
    FTSYNC_TRY(push_many(one));
    return one[0].result;
  }

  // The item a push or merge action gives to push_many (merged versions
  // recorded locally first, as the peer will record them).
  result<push_item> push_item_for(const action& a) {
    push_item x;
    x.l = *a.local;
    x.r = a.remote;
    if (a.kind == action_kind::merge || (a.merge_versions && a.remote)) {
      x.l.version = x.l.version.merged(a.remote->version);
      FTSYNC_TRY(f.db().put(x.l));
    }
    if (a.kind == action_kind::push) x.from = a.rename_from;
    return x;
  }

  // ---------------------------------------------------------------- conflicts
  status conflict(const action& a) {
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

  // Pulls and conflicts; pushes and merges go through push_many.
  status apply(const action& a) {
    switch (a.kind) {
      case action_kind::pull: return pull(a);
      case action_kind::conflict: return conflict(a);
      case action_kind::push:
      case action_kind::merge: break;
    }
    return make_error(errc::internal, "a push or merge outside a batch");
  }

  // `changed`: rescan only these paths; none: the whole folder.
  result<sync_totals> round(bool scan_local, std::optional<std::vector<rel_path>> changed = std::nullopt) {
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
      if (a.kind == action_kind::pull && !a.remote->deleted && a.remote->kind == entry_kind::file) {
        if (!pushes.empty()) FTSYNC_TRY(flush());
        FTSYNC_TRY(settle(a.path, pull(a, &fetches)));
        if (fetches.size() >= k_batch) FTSYNC_TRY(flush());
        continue;
      }
      FTSYNC_TRY(flush());
      FTSYNC_TRY(settle(a.path, apply(a)));
    }
    FTSYNC_TRY(flush());
    t.pending = actions.size();
    for (const auto& a : actions) {
      const auto& e = a.kind == action_kind::pull ? a.remote : a.local;
      if (e && !e->deleted) t.pending_bytes += e->size;
    }
    return t;
  }
};

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
