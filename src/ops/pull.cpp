// The pull engine: lists remote trees, creates local directories, then
// fetches files with many block requests in flight (bounded by
// limits::send_window_bytes), verifying each block before it is written to
// a partial file and committing each file only when all of it arrived.
#include "ops/convert.hpp"
#include "ops/transfer_tracker.hpp"

#include <ftsync/ops/remote.hpp>
#include <ftsync/util/log.hpp>

#include <deque>
#include <map>

namespace ftsync::ops {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

struct pull_file {
  rel_path remote;
  rel_path local;  // relative to the destination root
};

struct pull_dir {
  rel_path local;
  std::uint32_t mode = 0755;
  std::int64_t mtime_ns = 0;
};

enum class stage { awaiting_info, awaiting_prefix, receiving, awaiting_close };

struct active_pull {
  const pull_file* file = nullptr;
  stage at = stage::awaiting_info;
  wire::request_id open_id = 0;
  wire::request_id prefix_id = 0;
  wire::request_id close_id = 0;
  std::uint32_t transfer = 0;
  wire::entry info;
  std::optional<store::partial_file> partial;  // absent when the local copy is up to date
  std::uint64_t blocks = 0;
  std::uint64_t kept = 0;
  std::uint64_t next_request = 0;  // next block to ask for
  std::uint64_t next_write = 0;    // next block expected back
  std::uint64_t requested = 0;     // bytes asked for, not yet received
  std::uint64_t resumed = 0;
  std::vector<crypto::digest> kept_hashes;
};

}  // namespace

struct remote::pull_engine {
  remote& r;
  transfer_tracker track;
  std::optional<store::root> dest;
  std::vector<pull_dir> dirs;
  std::vector<pull_file> files;
  std::deque<std::unique_ptr<active_pull>> active;
  std::map<wire::request_id, active_pull*> block_requests;
  std::size_t next_file = 0;
  std::uint64_t in_flight = 0;
  bytes buffer;

  pull_engine(remote& owner, const transfer_options& opts) : r(owner), track(opts) {}

  void add_file(const wire::entry& e, rel_path remote_path, rel_path local) {
    files.push_back({std::move(remote_path), std::move(local)});
    track.state().bytes_total += e.size;
  }

  void skip(const wire::entry& e, const rel_path& remote_path) {
    track.summary().skipped++;
    track.file_done({remote_path.str(), file_action::skipped, 0, 0,
                     e.kind == wire::entry_kind::symlink ? "symlink not followed" : "special file"});
  }

  // Lists every remote argument; directories recursively.
  status plan(const std::vector<rel_path>& remote_paths) {
    for (const auto& p : remote_paths) {
      auto top = r.stat(p);
      if (!top) return std::move(top).err();
      const rel_path local_base = p.is_root() ? rel_path{} : *rel_path::parse(p.name());
      if (top->kind == wire::entry_kind::file) {
        if (p.is_root()) return make_error(errc::malformed, "server says its root is a file");
        add_file(*top, p, local_base);
        continue;
      }
      if (top->kind != wire::entry_kind::directory) {
        skip(*top, p);
        continue;
      }
      std::deque<std::pair<rel_path, rel_path>> queue{{p, local_base}};
      if (!local_base.is_root()) dirs.push_back({local_base, top->mode, top->mtime_ns});
      while (!queue.empty()) {
        auto [rdir, ldir] = std::move(queue.front());
        queue.pop_front();
        auto entries = r.list(rdir);  // names validated there
        if (!entries) return std::move(entries).err();
        for (const auto& e : *entries) {
          auto rchild = rdir.join(e.name);
          auto lchild = ldir.join(e.name);
          if (!rchild || !lchild) return make_error(errc::malformed, "server sent an invalid name");
          if (e.kind == wire::entry_kind::directory) {
            dirs.push_back({*lchild, e.mode, e.mtime_ns});
            queue.emplace_back(*rchild, *lchild);
          } else if (e.kind == wire::entry_kind::file) {
            add_file(e, *rchild, *lchild);
          } else {
            skip(e, *rchild);
          }
        }
      }
    }
    track.state().files_total = files.size();
    return {};
  }

  status make_dirs() {
    for (const auto& d : dirs) {
      if (auto st = dest->make_dir(d.local, true, d.mode ? d.mode & 0777 : 0755); !st) return std::move(st).err();
      track.summary().dirs++;
    }
    return {};
  }

  status start_next() {
    const auto& f = files[next_file++];
    auto a = std::make_unique<active_pull>();
    a->file = &f;
    a->open_id = r.m_next_id++;
    track.state().current = f.local.str();
    FTSYNC_TRY(r.m_session->send(wire::get_open{a->open_id, f.remote.str()}));
    active.push_back(std::move(a));
    return {};
  }

  active_pull* find(const auto& pred) {
    for (auto& a : active)
      if (pred(*a)) return a.get();
    return nullptr;
  }

  void drop(active_pull* a) {
    in_flight -= std::min(in_flight, a->requested);
    for (auto it = block_requests.begin(); it != block_requests.end();)
      it = it->second == a ? block_requests.erase(it) : std::next(it);
    for (auto it = active.begin(); it != active.end(); ++it)
      if (it->get() == a) {
        active.erase(it);
        return;
      }
  }

  // Gives up on one file (the partial is kept for a later resume) and tells
  // the server to close its side.
  status fail_file(active_pull* a, error e) {
    track.fail(std::move(e));
    if (a->transfer != 0) FTSYNC_TRY(r.m_session->send(wire::get_close{r.m_next_id++, a->transfer}));
    drop(a);
    return {};
  }

  status begin_receiving(active_pull* a, std::uint64_t from_block) {
    if (auto st = a->partial->truncate(from_block * limits::block_size); !st)
      return fail_file(a, error{st.err().code, a->file->local.str() + ": " + st.err().message});
    a->next_request = a->next_write = from_block;
    a->at = stage::receiving;
    if (from_block > 0) {
      a->resumed = std::min<std::uint64_t>(a->info.size, from_block * limits::block_size);
      track.add_bytes(a->resumed);
    }
    return {};
  }

  status on_info(const wire::get_info& m) {
    auto* a = find([&](const active_pull& x) { return x.at == stage::awaiting_info && x.open_id == m.id; });
    if (!a) return make_error(errc::malformed, "get_info for no request");
    a->transfer = m.transfer;
    a->info = m.info;
    if (m.info.kind != wire::entry_kind::file) return fail_file(a, make_error(errc::not_regular_file, a->file->remote.str()));
    a->blocks = block_count(m.info.size);
    // rsync's quick check: same size and mtime means the same file.
    auto local = dest->stat(a->file->local);
    if (local && local->kind == store::file_kind::regular && local->size == m.info.size &&
        local->mtime_ns == m.info.mtime_ns) {
      a->close_id = r.m_next_id++;
      a->at = stage::awaiting_close;
      return r.m_session->send(wire::get_close{a->close_id, a->transfer});
    }
    auto partial = dest->open_partial(a->file->local);
    if (!partial) return fail_file(a, error{partial.err().code, a->file->local.str() + ": " + partial.err().message});
    a->partial.emplace(std::move(*partial));
    const auto existing = a->partial->existing_size();
    std::uint64_t kept = std::min(existing / limits::block_size, a->blocks);
    if (kept * limits::block_size > m.info.size) kept = 0;
    if (kept > 0 && hash_prefix(*a->partial, m.info.size, kept, a->kept_hashes, buffer)) {
      a->kept = kept;
      a->prefix_id = r.m_next_id++;
      a->at = stage::awaiting_prefix;
      return r.m_session->send(wire::get_prefix{a->prefix_id, a->transfer, kept});
    }
    return begin_receiving(a, 0);
  }

  status on_prefix(const wire::get_prefix_reply& m) {
    auto* a = find([&](const active_pull& x) { return x.at == stage::awaiting_prefix && x.prefix_id == m.id; });
    if (!a) return make_error(errc::malformed, "get_prefix_reply for no request");
    const bool same = crypto::prefix_hash(a->kept_hashes, a->kept) == m.prefix;
    return begin_receiving(a, same ? a->kept : 0);
  }

  status request_blocks() {
    for (auto& a : active) {
      if (a->at != stage::receiving) continue;
      while (a->next_request < a->blocks && in_flight < limits::send_window_bytes) {
        const auto id = r.m_next_id++;
        FTSYNC_TRY(r.m_session->send(wire::get_block{id, a->transfer, a->next_request}));
        const auto len = block_length(a->info.size, a->next_request);
        block_requests.emplace(id, a.get());
        a->next_request++;
        a->requested += len;
        in_flight += len;
      }
      if (a->next_write == a->blocks) {
        a->close_id = r.m_next_id++;
        a->at = stage::awaiting_close;
        FTSYNC_TRY(r.m_session->send(wire::get_close{a->close_id, a->transfer}));
      }
      if (in_flight >= limits::send_window_bytes) break;
    }
    return {};
  }

  status on_block(wire::get_block_reply&& m) {
    auto it = block_requests.find(m.id);
    if (it == block_requests.end()) return {};  // for a file that already failed
    auto* a = it->second;
    block_requests.erase(it);
    const auto len = block_length(a->info.size, m.index);
    a->requested -= std::min<std::uint64_t>(a->requested, len);
    in_flight -= std::min<std::uint64_t>(in_flight, len);
    if (m.index != a->next_write || m.data.size() != len)
      return make_error(errc::malformed, "server sent a block out of order or of the wrong size");
    if (crypto::hash_block(m.data) != m.hash)
      return fail_file(a, make_error(errc::hash_mismatch, a->file->local.str() + ": block " + std::to_string(m.index) + " failed its hash check"));
    if (auto st = a->partial->write_at(m.index * limits::block_size, m.data); !st)
      return fail_file(a, error{st.err().code, a->file->local.str() + ": " + st.err().message});
    a->next_write++;
    track.summary().bytes += len;
    track.add_bytes(len);
    return {};
  }

  status on_ok(const wire::ok& m) {
    auto* a = find([&](const active_pull& x) { return x.at == stage::awaiting_close && x.close_id == m.id; });
    if (!a) return {};  // the close of a failed file
    if (!a->partial) {
      track.summary().files++;
      track.summary().up_to_date++;
      track.add_bytes(a->info.size);
      track.file_done({a->file->local.str(), file_action::up_to_date, a->info.size, 0, {}});
      drop(a);
      return {};
    }
    // Every block was verified on arrival and the source did not change
    // while it was read: the file may take its final name.
    if (auto st = a->partial->commit(a->info.mtime_ns, a->info.mode & 0777, [this] { r.m_session->keep_alive(); }); !st) {
      a->transfer = 0;
      return fail_file(a, error{st.err().code, a->file->local.str() + ": " + st.err().message});
    }
    track.summary().files++;
    track.summary().resumed_bytes += a->resumed;
    track.file_done({a->file->local.str(), a->resumed > 0 ? file_action::resumed : file_action::received,
                     a->info.size, a->resumed, {}});
    drop(a);
    return {};
  }

  status on_error(const wire::error_reply& m) {
    if (auto it = block_requests.find(m.id); it != block_requests.end()) {
      auto* a = it->second;
      return fail_file(a, remote_error(m, "/" + a->file->remote.str()));
    }
    auto* a = find([&](const active_pull& x) { return x.open_id == m.id || x.prefix_id == m.id || x.close_id == m.id; });
    if (!a) return {};
    if (m.id == a->close_id) a->transfer = 0;  // the server already closed it
    return fail_file(a, remote_error(m, "/" + a->file->remote.str()));
  }

  status run() {
    while (next_file < files.size() || !active.empty()) {
      while (active.size() < max_active_files && next_file < files.size()) FTSYNC_TRY(start_next());
      FTSYNC_TRY(request_blocks());
      auto m = r.m_session->receive(100ms);
      if (!m) return std::move(m).err();
      if (!*m) {
        if (track.stalled(*r.m_session)) return make_error(errc::timeout, "the server stopped answering");
        track.report();
        continue;
      }
      track.heard_from_peer();
      auto& msg = **m;
      if (auto* b = std::get_if<wire::get_block_reply>(&msg)) FTSYNC_TRY(on_block(std::move(*b)));
      else if (auto* i = std::get_if<wire::get_info>(&msg)) FTSYNC_TRY(on_info(*i));
      else if (auto* p = std::get_if<wire::get_prefix_reply>(&msg)) FTSYNC_TRY(on_prefix(*p));
      else if (auto* ok = std::get_if<wire::ok>(&msg)) FTSYNC_TRY(on_ok(*ok));
      else if (auto* e = std::get_if<wire::error_reply>(&msg)) FTSYNC_TRY(on_error(*e));
      else return make_error(errc::malformed, std::string("unexpected ") + wire::type_name(wire::type_of(msg)) + " during pull");
    }
    // Directory mtimes last, deepest first: creating files changed them.
    for (auto it = dirs.rbegin(); it != dirs.rend(); ++it)
      if (it->mtime_ns != 0) (void)dest->set_mtime(it->local, it->mtime_ns);
    return {};
  }
};

result<transfer_summary> remote::pull(const std::vector<rel_path>& remote_paths, const fs::path& local_dir,
                                      const transfer_options& opts) {
  const auto start = mono_now();
  pull_engine engine(*this, opts);
  auto dest = store::root::open_or_create(local_dir);
  if (!dest) return std::move(dest).err();
  engine.dest.emplace(std::move(*dest));
  FTSYNC_TRY(engine.plan(remote_paths));
  FTSYNC_TRY(engine.make_dirs());
  FTSYNC_TRY(engine.run());
  engine.track.report(true);
  if (engine.track.failed()) return engine.track.final_error();
  auto summary = engine.track.summary();
  summary.seconds = seconds_since(start);
  summary.wire = m_session->stats();
  return summary;
}

}  // namespace ftsync::ops
