#include <ftsync/sync/service.hpp>

#include "sync/convert.hpp"
#include "sync/file_builder.hpp"

#include <ftsync/crypto/keys.hpp>
#include <ftsync/store/chunker.hpp>
#include <ftsync/store/watcher.hpp>
#include <ftsync/util/clock.hpp>
#include <ftsync/util/limits.hpp>
#include <ftsync/util/log.hpp>

#include <map>
#include <optional>

namespace ftsync::sync {

bool is_sync_message(const wire::message& m) noexcept {
  const auto t = static_cast<int>(wire::type_of(m));
  return t >= static_cast<int>(wire::msg_type::sync_index_request) &&
         t <= static_cast<int>(wire::msg_type::sync_put_commit);
}

namespace {

// Index records per reply page: at ~100 bytes per record (a typical path,
// one or two version items, a 32-byte hash) 1024 records are ~100 KiB, well
// inside max_frame_bytes; long paths are cut off by the byte budget below.
constexpr std::size_t k_records_per_page = 1024;
constexpr std::size_t k_page_bytes = 256 * 1024;
// Chunk references per page: ~50 bytes each, 2048 = ~100 KiB.
constexpr std::size_t k_chunks_per_page = 2048;

struct upload {
  wire::request_id put_id = 0;
  std::optional<file_builder> builder;
  index::file_entry want;
  std::optional<index::file_entry> expect;  // what the target was when the put began
  std::optional<error> failed;              // a write failed: reported at commit
};

struct session_state {
  std::map<std::uint32_t, upload> uploads;
  std::uint32_t next_transfer = 1;
};

std::size_t record_bytes(const wire::file_record& r) { return 80 + r.path.size() + 20 * r.version.size(); }

}  // namespace

struct service::impl {
  std::unique_ptr<folder> f;
  std::optional<store::watcher> watcher;
  std::chrono::milliseconds rescan_interval;
  mono_time last_scan{};
  bool scanned = false;
  std::map<session::session_id, session_state> sessions;
  bytes buf;
  // Who is uploading each target. A client killed mid-upload leaves its
  // session (and the partial file's lock) alive until the transport notices
  // (ENet's timeout, ~30 s); the same peer's next session takes the upload
  // over, so a re-run resumes at once instead of failing busy.
  struct writer {
    session::session_id session = 0;
    std::uint32_t transfer = 0;
    crypto::public_key peer;
  };
  std::map<rel_path, writer> writers;

  void take_over(const rel_path& target, session::session_ref& s) {
    auto it = writers.find(target);
    if (it == writers.end() || it->second.session == s.id() || !(it->second.peer == s.peer().key)) return;
    auto old = sessions.find(it->second.session);
    if (old != sessions.end()) {
      old->second.uploads.erase(it->second.transfer);  // closes the partial file, keeps its data
      log::info(who(s) + ": takes over the sync upload of " + escape_for_log(target.str()) + " from session " +
                std::to_string(it->second.session));
    }
    writers.erase(it);
  }
  void release(const rel_path& target, session::session_id sid) {
    auto it = writers.find(target);
    if (it != writers.end() && it->second.session == sid) writers.erase(it);
  }

  std::string who(session::session_ref& s) const {
    return escape_for_log(s.peer().name) + " (" + crypto::short_id(s.peer().key) + ")";
  }

  status reply_error(session::session_ref& s, wire::request_id id, const error& e) {
    return s.send(wire::error_reply{id, e.code, e.message});
  }

  // Rescans when the folder may have changed since the last scan.
  // Only the paths the watcher named, when it named them all; the whole
  // folder at first, without a watcher, after an overflow, when forced and
  // every rescan interval.
  status refresh(session::session_ref& s, bool force) {
    bool full = force || !scanned || !watcher || mono_now() - last_scan >= rescan_interval;
    std::vector<rel_path> changed;
    if (watcher) {
      auto ev = watcher->poll();
      if (!ev || ev->overflow) full = true;
      if (ev && ev->changed && !full) changed = std::move(ev->paths);
    }
    if (!full && changed.empty()) return {};
    auto keep_alive = [&s] { s.keep_alive(); };
    auto st = full ? f->rescan(keep_alive) : f->rescan_paths(std::move(changed), keep_alive);
    if (!st) return std::move(st).err();
    scanned = true;
    if (full) last_scan = mono_now();
    if (st->changed + st->deleted > 0)
      log::info("sync: served folder changed: " + std::to_string(st->changed) + " changed, " +
                std::to_string(st->deleted) + " deleted");
    return {};
  }

  status on_index(session::session_ref& s, const wire::sync_index_request& m) {
    if (auto r = refresh(s, false); !r) return reply_error(s, m.id, r.err());
    const std::uint64_t after = m.index_id == f->db().index_id() ? m.after : 0;
    auto rows = f->db().changed_since(after, k_records_per_page);
    if (!rows) return reply_error(s, m.id, rows.err());
    wire::sync_index_reply reply;
    reply.id = m.id;
    reply.index_id = f->db().index_id();
    // Everything, ignored paths included: each client applies its own
    // .ftsyncignore (the server's only limits what it accepts).
    std::size_t bytes = 0;
    for (const auto& e : *rows) {
      auto rec = to_wire(e);
      bytes += record_bytes(rec);
      reply.records.push_back(std::move(rec));
      if (bytes > k_page_bytes) break;
    }
    // The client continues after the last sequence it got.
    reply.more = rows->size() == k_records_per_page || reply.records.size() < rows->size();
    return s.send(reply);
  }

  status on_chunks(session::session_ref& s, const wire::sync_chunks_request& m) {
    auto p = rel_path::parse(m.path);
    if (!p) return reply_error(s, m.id, p.err());
    auto e = f->db().get(*p);
    if (!e) return reply_error(s, m.id, e.err());
    if (!*e || (*e)->deleted || (*e)->kind != index::entry_kind::file || (*e)->hash != m.hash)
      return reply_error(s, m.id, make_error(errc::not_found, "'" + m.path + "' changed on the server"));
    auto chunks = f->db().chunks(*p);
    if (!chunks) return reply_error(s, m.id, chunks.err());
    wire::sync_chunks_reply reply;
    reply.id = m.id;
    for (std::uint64_t i = m.first; i < chunks->size() && reply.chunks.size() < k_chunks_per_page; ++i)
      reply.chunks.push_back(to_wire((*chunks)[i]));
    reply.more = m.first + reply.chunks.size() < chunks->size();
    return s.send(reply);
  }

  status on_data(session::session_ref& s, const wire::sync_data_request& m) {
    auto p = rel_path::parse(m.path);
    if (!p) return reply_error(s, m.id, p.err());
    if (m.size == 0 || m.size > store::chunk_max)
      return reply_error(s, m.id, make_error(errc::invalid_argument, "chunk size out of range"));
    auto r = f->root().open_read(*p);
    if (!r) return reply_error(s, m.id, r.err());
    buf.resize(m.size);
    auto got = r->read_at(m.offset, std::span<byte>(buf.data(), m.size));
    if (!got) return reply_error(s, m.id, got.err());
    if (*got != m.size || crypto::hash_block(buf) != m.hash)
      return reply_error(s, m.id, make_error(errc::hash_mismatch, "'" + m.path + "' changed on the server"));
    return s.send(wire::sync_data_reply{m.id, buf});
  }

  // The server's current entry for `path`, re-checked against the disk.
  result<std::optional<index::file_entry>> current(session::session_ref& s, const rel_path& path,
                                                   bool tombstone_request) {
    auto e = f->db().get(path);
    if (!e) return std::move(e).err();
    bool ok = *e ? f->disk_matches(**e) : f->root().stat(path).code() == errc::not_found;
    if (!ok && tombstone_request && *e && f->root().stat(path).code() == errc::not_found) ok = true;
    if (ok) return e;
    FTSYNC_TRY(refresh(s, true));
    return f->db().get(path);
  }

  status on_put(session::session_ref& s, session_state& st, const wire::sync_put& m) {
    if (s.peer().read_only)
      return reply_error(s, m.id, make_error(errc::permission_denied, "read-only peer: sync_put refused"));
    auto want = from_wire(m.record);
    if (!want) return reply_error(s, m.id, want.err());
    if (f->ignore().ignored(want->path, want->kind == index::entry_kind::directory))
      return reply_error(s, m.id, make_error(errc::permission_denied, "'" + want->path.str() + "' is ignored here"));
    // A path through a symlink inside the served root (D3): nothing on disk
    // would be touched, but a tombstone for it was recorded in the index and
    // handed to every other client. Refused before the index sees it.
    if (auto where = f->root().stat(want->path); !where && where.code() == errc::path_escapes_root)
      return reply_error(s, m.id, where.err());
    auto cur = current(s, want->path, want->deleted);
    if (!cur) return reply_error(s, m.id, cur.err());
    const index::version_vector base = from_wire(m.base);
    if ((*cur ? (*cur)->version : index::version_vector{}) != base)
      return reply_error(s, m.id, make_error(errc::already_exists, "'" + want->path.str() +
                                                                       "' changed on the server; re-read the index"));
    index::file_entry e = *want;
    auto& root = f->root();
    const auto& c = *cur;
    if (e.deleted) {
      if (c && !c->deleted) {
        status rm = c->kind == index::entry_kind::directory ? root.remove_dir(e.path) : root.remove_file(e.path);
        if (!rm && rm.code() != errc::not_found) return reply_error(s, m.id, rm.err());
      }
      e.kind = c ? c->kind : e.kind;
      FTSYNC_TRY(f->db().put(e));
      log::info(who(s) + ": sync deleted " + escape_for_log(e.path.str()));
      return s.send(wire::ok{m.id});
    }
    if (e.kind == index::entry_kind::directory) {
      // A file the client has seen (its version is the base) becomes a
      // directory: the client holds that file's content (or a conflict copy).
      if (c && !c->deleted && c->kind != index::entry_kind::directory) {
        auto rm = root.remove_file(e.path);
        if (!rm && rm.code() != errc::not_found) return reply_error(s, m.id, rm.err());
      }
      if (auto r = root.make_dir(e.path, true, e.mode); !r) return reply_error(s, m.id, r.err());
      (void)root.set_mode(e.path, e.mode);
      FTSYNC_TRY(f->db().put(e));
      return s.send(wire::ok{m.id});
    }
    if (e.kind == index::entry_kind::symlink) {
      if (c && !c->deleted && c->same_data(e)) {
        // The same link already: only the version changes.
        e.inode = c->inode;
        e.ctime_ns = c->ctime_ns;
        FTSYNC_TRY(f->db().put(e));
      } else if (auto r = file_builder::place_symlink(*f, e.path, e, c); !r) {
        return reply_error(s, m.id, r.err());
      }
      log::info(who(s) + ": sync linked " + escape_for_log(e.path.str()) + " -> " + escape_for_log(e.target));
      return s.send(wire::ok{m.id});
    }
    // A file with the same content: only mode, mtime and version change
    // (with other hard links: the ordinary upload below replaces the link,
    // from local chunks).
    if (c && !c->deleted && c->kind == index::entry_kind::file && c->hash == e.hash && c->size == e.size &&
        !f->has_other_links(e.path)) {
      if (auto r = root.set_mode(e.path, e.mode); !r) return reply_error(s, m.id, r.err());
      if (auto r = root.set_mtime(e.path, e.mtime_ns); !r) return reply_error(s, m.id, r.err());
      auto stt = root.stat(e.path);
      if (stt) e.inode = stt->inode, e.ctime_ns = stt->ctime_ns;
      FTSYNC_TRY(f->db().put(e));
      return s.send(wire::ok{m.id});
    }
    // A rename: the source still holds exactly this content.
    if (!m.from.empty() && (!c || c->deleted)) {
      auto from = rel_path::parse(m.from);
      if (from) {
        auto src = f->db().get(*from);
        if (src && *src && !(*src)->deleted && (*src)->hash == e.hash && f->disk_matches(**src)) {
          auto chunks = f->db().chunks(*from);
          if (!e.path.parent().is_root()) (void)root.make_dir(e.path.parent(), true);
          if (chunks && root.rename(*from, e.path)) {
            (void)root.set_mode(e.path, e.mode);
            (void)root.set_mtime(e.path, e.mtime_ns);
            auto stt = root.stat(e.path);
            if (stt) e.inode = stt->inode, e.ctime_ns = stt->ctime_ns;
            FTSYNC_TRY(f->db().put(e, &*chunks));
            log::info(who(s) + ": sync renamed " + escape_for_log(from->str()) + " -> " + escape_for_log(e.path.str()));
            return s.send(wire::ok{m.id});
          }
        }
      }
    }
    if (st.uploads.size() >= limits::max_open_transfers)
      return reply_error(s, m.id, make_error(errc::busy, "too many sync uploads open in this session"));
    take_over(e.path, s);
    if (auto r = file_builder::make_way(*f, e.path, c); !r) return reply_error(s, m.id, r.err());
    auto b = file_builder::open(*f, e.path, e);
    if (!b) return reply_error(s, m.id, b.err());
    // The first page of the chunk list came with the put: answer it now.
    std::vector<std::uint64_t> need;
    if (!m.chunks.empty()) {
      std::vector<index::chunk> page;
      page.reserve(m.chunks.size());
      for (const auto& ch : m.chunks) page.push_back(from_wire(ch));
      auto n = b->add_chunks(page);
      if (!n) return std::move(n).err();  // a broken chunk list ends the session
      need = std::move(*n);
    }
    const std::uint32_t t = st.next_transfer++;
    writers[e.path] = writer{s.id(), t, s.peer().key};
    upload u;
    u.put_id = m.id;
    u.builder.emplace(std::move(*b));
    u.want = e;
    u.expect = c;
    st.uploads.emplace(t, std::move(u));
    return s.send(wire::sync_put_ready{m.id, t, std::move(need)});
  }

  status on_put_chunks(session::session_ref& s, session_state& st, const wire::sync_put_chunks& m) {
    auto it = st.uploads.find(m.transfer);
    if (it == st.uploads.end()) return make_error(errc::malformed, "sync_put_chunks for an unknown transfer");
    auto& b = *it->second.builder;
    if (m.first != b.chunks().size())
      return make_error(errc::malformed, "sync_put_chunks pages out of order");
    std::vector<index::chunk> page;
    page.reserve(m.chunks.size());
    for (const auto& c : m.chunks) page.push_back(from_wire(c));
    auto need = b.add_chunks(page);
    if (!need) return std::move(need).err();  // a broken chunk list ends the session
    return s.send(wire::sync_put_need{m.id, std::move(*need)});
  }

  status on_put_data(session::session_ref&, session_state& st, wire::sync_put_data&& m) {
    auto it = st.uploads.find(m.transfer);
    if (it == st.uploads.end()) return make_error(errc::malformed, "sync_put_data for an unknown transfer");
    auto& u = it->second;
    if (u.failed) return {};
    auto r = u.builder->put(m.index, m.data);
    if (!r) {
      if (r.code() == errc::malformed || r.code() == errc::hash_mismatch) return r;  // hostile or broken peer
      u.failed = std::move(r).err();
    }
    return {};
  }

  status on_put_commit(session::session_ref& s, session_state& st, const wire::sync_put_commit& m) {
    auto it = st.uploads.find(m.transfer);
    if (it == st.uploads.end()) return reply_error(s, m.id, make_error(errc::not_found, "no such sync transfer"));
    upload u = std::move(it->second);
    st.uploads.erase(it);
    release(u.want.path, s.id());
    if (u.failed) return reply_error(s, m.id, *u.failed);
    if (!u.builder->list_complete() || u.builder->missing() != 0)
      return reply_error(s, m.id, make_error(errc::malformed, "sync_put_commit before every chunk arrived"));
    if (auto r = u.builder->commit(u.expect, [&s] { s.keep_alive(); }); !r) return reply_error(s, m.id, r.err());
    const auto& c = u.builder->counters();
    log::info(who(s) + ": sync received " + escape_for_log(u.want.path.str()) + " (" +
              std::to_string(u.want.size) + " bytes: " + std::to_string(c.received_bytes) + " sent, " +
              std::to_string(c.reused_bytes) + " reused locally, " + std::to_string(c.resumed_bytes) + " resumed)");
    return s.send(wire::ok{m.id});
  }
};

service::service(std::unique_ptr<folder> f, bool watch, std::chrono::milliseconds rescan_interval)
    : m_impl(std::make_unique<impl>()) {
  m_impl->f = std::move(f);
  m_impl->rescan_interval = rescan_interval;
  if (watch) {
    auto w = store::watcher::open(m_impl->f->root());
    if (w)
      m_impl->watcher.emplace(std::move(*w));
    else
      log::warn("sync: no watcher on the served folder (" + w.err().message + "); rescanning on every request");
  }
}

service::~service() = default;

folder& service::served() noexcept { return *m_impl->f; }

void service::on_open(session::session_ref&) {}

void service::on_close(session::session_ref& s, const error*) {
  auto it = m_impl->sessions.find(s.id());
  if (it == m_impl->sessions.end()) return;
  for (const auto& [t, u] : it->second.uploads) m_impl->release(u.want.path, s.id());
  m_impl->sessions.erase(it);
}

status service::on_message(session::session_ref& s, wire::message&& m) {
  auto& st = m_impl->sessions[s.id()];
  if (auto* x = std::get_if<wire::sync_index_request>(&m)) return m_impl->on_index(s, *x);
  if (auto* x = std::get_if<wire::sync_chunks_request>(&m)) return m_impl->on_chunks(s, *x);
  if (auto* x = std::get_if<wire::sync_data_request>(&m)) return m_impl->on_data(s, *x);
  if (auto* x = std::get_if<wire::sync_put>(&m)) return m_impl->on_put(s, st, *x);
  if (auto* x = std::get_if<wire::sync_put_chunks>(&m)) return m_impl->on_put_chunks(s, st, *x);
  if (auto* x = std::get_if<wire::sync_put_data>(&m)) return m_impl->on_put_data(s, st, std::move(*x));
  if (auto* x = std::get_if<wire::sync_put_commit>(&m)) return m_impl->on_put_commit(s, st, *x);
  return make_error(errc::unexpected_message,
                    std::string("client sent a ") + wire::type_name(wire::type_of(m)) + " to the sync service");
}

}  // namespace ftsync::sync
