// The push engine: walks local trees, creates directories, then streams
// files with many in flight, bounded by limits::send_window_bytes of
// unacknowledged block data.
#include "ops/convert.hpp"
#include "ops/transfer_tracker.hpp"

#include <ftsync/ops/remote.hpp>
#include <ftsync/util/log.hpp>

#include <algorithm>
#include <deque>
#include <optional>
#include <map>

namespace ftsync::ops {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

struct push_file {
  std::size_t source = 0;  // index into the opened local roots
  rel_path local;          // relative to that root
  rel_path remote;
};

struct push_dir {
  rel_path remote;
  std::uint32_t mode = 0755;
  std::int64_t mtime_ns = 0;
};

enum class stage { awaiting_ready, sending, awaiting_commit };

struct active_push {
  const push_file* file = nullptr;
  std::optional<store::reader> reader;
  stage at = stage::awaiting_ready;
  wire::request_id begin_id = 0;
  wire::request_id commit_id = 0;
  std::uint32_t transfer = 0;
  std::uint64_t next_block = 0;
  std::uint64_t blocks = 0;
  std::uint64_t unacked = 0;
  std::uint64_t resumed = 0;
  crypto::file_hasher hasher;
};

}  // namespace

struct remote::push_engine {
  remote& r;
  transfer_tracker track;
  std::vector<store::root> roots;
  std::vector<push_dir> dirs;
  std::vector<push_file> files;
  std::map<wire::request_id, std::string> simple;  // mkdir requests in flight -> path
  std::deque<std::unique_ptr<active_push>> active;
  std::size_t next_file = 0;
  std::uint64_t in_flight = 0;
  bytes buffer;
  // Reused for every block: a put_block built per block and converted to a
  // wire::message cost an allocation, a zero fill and a copy of 128 KiB.
  wire::message block_message = wire::put_block{};

  push_engine(remote& owner, const transfer_options& opts) : r(owner), track(opts) {}

  // Resolves each local argument and walks it. A symlink given on the
  // command line is followed (like rsync and scp); inside trees none is.
  status plan(const std::vector<fs::path>& local, const rel_path& remote_dir) {
    dirs.push_back({remote_dir, 0755, 0});
    for (const auto& arg : local) {
      std::error_code ec;
      const auto real = fs::canonical(arg, ec);
      if (ec) return make_error(errc::not_found, arg.string() + ": " + ec.message());
      if (!real.has_parent_path() || real == real.root_path())
        return make_error(errc::invalid_argument, arg.string() + ": cannot push the filesystem root");
      auto name = rel_path::parse(real.filename().string());
      if (!name) return error{name.err().code, arg.string() + ": " + name.err().message};
      auto src = store::root::open(real.parent_path());
      if (!src) return std::move(src).err();
      auto entries = src->walk(*name);
      if (!entries) return std::move(entries).err();
      roots.push_back(std::move(*src));
      for (auto& e : *entries) {
        const auto dst = remote_dir.join(e.path);
        switch (e.info.kind) {
          case store::file_kind::directory:
            dirs.push_back({dst, e.info.mode, e.info.mtime_ns});
            break;
          case store::file_kind::regular:
            files.push_back({roots.size() - 1, e.path, dst});
            track.state().bytes_total += e.info.size;
            break;
          default:
            track.summary().skipped++;
            track.file_done({e.path.str(), file_action::skipped, 0, 0,
                             e.info.kind == store::file_kind::symlink ? "symlink not followed" : "special file"});
        }
      }
    }
    track.state().files_total = files.size();
    return {};
  }

  status send_dirs(bool with_mtime) {
    // With mtimes the deepest directories go first, so setting a parent's
    // mtime is not undone by a child's.
    for (std::size_t k = 0; k < dirs.size(); ++k) {
      const auto& d = with_mtime ? dirs[dirs.size() - 1 - k] : dirs[k];
      if (with_mtime && d.mtime_ns == 0) continue;
      const auto id = r.m_next_id++;
      FTSYNC_TRY(r.m_session->send(wire::mkdir_request{id, d.remote.str(), true, d.mode, with_mtime ? d.mtime_ns : 0}));
      simple.emplace(id, d.remote.str());
    }
    return {};
  }

  status start_next() {
    const auto& f = files[next_file++];
    auto reader = roots[f.source].open_read(f.local);
    if (!reader) {
      track.fail(error{reader.err().code, f.local.str() + ": " + reader.err().message});
      return {};
    }
    auto a = std::make_unique<active_push>();
    a->file = &f;
    a->reader.emplace(std::move(*reader));
    a->begin_id = r.m_next_id++;
    a->blocks = block_count(a->reader->info().size);
    const auto& info = a->reader->info();
    track.state().current = f.remote.str();
    FTSYNC_TRY(r.m_session->send(wire::put_begin{a->begin_id, f.remote.str(), info.size, info.mtime_ns, info.mode, true}));
    active.push_back(std::move(a));
    return {};
  }

  active_push* find(const auto& pred) {
    for (auto& a : active)
      if (pred(*a)) return a.get();
    return nullptr;
  }

  void drop(active_push* a) {
    in_flight -= a->unacked;
    for (auto it = active.begin(); it != active.end(); ++it)
      if (it->get() == a) {
        active.erase(it);
        return;
      }
  }

  status send_blocks() {
    for (auto& a : active) {
      if (a->at != stage::sending) continue;
      while (a->next_block < a->blocks && in_flight < limits::send_window_bytes) {
        const auto size = a->reader->info().size;
        const auto len = block_length(size, a->next_block);
        auto& blk = std::get<wire::put_block>(block_message);
        blk.transfer = a->transfer;
        blk.index = a->next_block;
        blk.data.resize(len);
        auto got = a->reader->read_at(a->next_block * limits::block_size, blk.data);
        if (!got || *got != len) {
          track.fail(error{got ? errc::io : got.err().code,
                           a->file->local.str() + (got ? ": file shrank during the push" : ": " + got.err().message)});
          drop(a.get());
          return {};  // `active` changed: the caller loops again
        }
        blk.hash = crypto::hash_block(blk.data);
        a->hasher.add_block(blk.hash);
        FTSYNC_TRY(r.m_session->send(block_message));
        a->next_block++;
        a->unacked += len;
        in_flight += len;
      }
      if (a->next_block == a->blocks) {
        a->commit_id = r.m_next_id++;
        a->at = stage::awaiting_commit;
        FTSYNC_TRY(r.m_session->send(wire::put_commit{a->commit_id, a->transfer, a->hasher.finish(a->reader->info().size)}));
      }
      if (in_flight >= limits::send_window_bytes) break;
    }
    return {};
  }

  status on_ready(const wire::put_ready& m) {
    auto* a = find([&](const active_push& x) { return x.at == stage::awaiting_ready && x.begin_id == m.id; });
    if (!a) return make_error(errc::malformed, "put_ready for no request");
    const auto size = a->reader->info().size;
    if (m.up_to_date) {
      track.summary().files++;
      track.summary().up_to_date++;
      track.add_bytes(size);
      track.file_done({a->file->remote.str(), file_action::up_to_date, size, 0, {}});
      drop(a);
      return {};
    }
    a->transfer = m.transfer;
    a->at = stage::sending;
    if (m.kept_blocks > 0 && m.kept_blocks <= a->blocks) {
      // The server kept blocks from an interrupted run: resume after them if
      // they are the same as ours.
      std::vector<crypto::digest> mine;
      if (hash_prefix(*a->reader, size, m.kept_blocks, mine, buffer) &&
          crypto::prefix_hash(mine, m.kept_blocks) == m.kept_prefix) {
        for (const auto& h : mine) a->hasher.add_block(h);
        a->next_block = m.kept_blocks;
        a->resumed = std::min<std::uint64_t>(size, m.kept_blocks * limits::block_size);
        track.add_bytes(a->resumed);
      }
    }
    return {};
  }

  void on_ack(const wire::put_block_ack& m) {
    auto* a = find([&](const active_push& x) { return x.transfer == m.transfer && x.at != stage::awaiting_ready; });
    if (!a) return;
    const auto len = block_length(a->reader->info().size, m.index);
    a->unacked -= std::min<std::uint64_t>(a->unacked, len);
    in_flight -= std::min<std::uint64_t>(in_flight, len);
    track.summary().bytes += len;
    track.add_bytes(len);
  }

  status on_ok(const wire::ok& m) {
    if (auto it = simple.find(m.id); it != simple.end()) {
      simple.erase(it);
      return {};
    }
    auto* a = find([&](const active_push& x) { return x.at == stage::awaiting_commit && x.commit_id == m.id; });
    if (!a) return make_error(errc::malformed, "ok for no request");
    const auto size = a->reader->info().size;
    track.summary().files++;
    track.summary().resumed_bytes += a->resumed;
    track.file_done({a->file->remote.str(), a->resumed > 0 ? file_action::resumed : file_action::sent, size,
                     a->resumed, {}});
    drop(a);
    return {};
  }

  void on_error(const wire::error_reply& m) {
    if (auto it = simple.find(m.id); it != simple.end()) {
      track.fail(remote_error(m, "/" + it->second));
      simple.erase(it);
      return;
    }
    auto* a = find([&](const active_push& x) { return x.begin_id == m.id || x.commit_id == m.id; });
    if (!a) {
      track.fail(remote_error(m, ""));
      return;
    }
    track.fail(remote_error(m, "/" + a->file->remote.str()));
    drop(a);
  }

  status run() {
    FTSYNC_TRY(send_dirs(false));
    while (next_file < files.size() || !active.empty() || !simple.empty()) {
      while (active.size() < max_active_files && next_file < files.size()) FTSYNC_TRY(start_next());
      FTSYNC_TRY(send_blocks());
      const bool can_send = in_flight < limits::send_window_bytes &&
                            std::any_of(active.begin(), active.end(), [](const auto& a) { return a->at == stage::sending; });
      auto m = r.m_session->receive(can_send ? 0ms : 100ms);
      if (!m) return std::move(m).err();
      if (!*m) {
        if (!can_send && track.stalled(*r.m_session)) return make_error(errc::timeout, "the server stopped answering");
        track.report();
        continue;
      }
      track.heard_from_peer();
      auto& msg = **m;
      if (auto* ack = std::get_if<wire::put_block_ack>(&msg)) on_ack(*ack);
      else if (auto* ready = std::get_if<wire::put_ready>(&msg)) FTSYNC_TRY(on_ready(*ready));
      else if (auto* ok = std::get_if<wire::ok>(&msg)) FTSYNC_TRY(on_ok(*ok));
      else if (auto* e = std::get_if<wire::error_reply>(&msg)) on_error(*e);
      else return make_error(errc::malformed, std::string("unexpected ") + wire::type_name(wire::type_of(msg)) + " during push");
    }
    // Directory mtimes last: adding files changed them.
    FTSYNC_TRY(send_dirs(true));
    while (!simple.empty()) {
      auto m = r.m_session->receive(100ms);
      if (!m) return std::move(m).err();
      if (!*m) {
        if (track.stalled(*r.m_session)) return make_error(errc::timeout, "the server stopped answering");
        continue;
      }
      track.heard_from_peer();
      if (auto* ok = std::get_if<wire::ok>(&**m)) FTSYNC_TRY(on_ok(*ok));
      else if (auto* e = std::get_if<wire::error_reply>(&**m)) on_error(*e);
    }
    return {};
  }
};

result<transfer_summary> remote::push(const std::vector<fs::path>& local, const rel_path& remote_dir,
                                      const transfer_options& opts) {
  const auto start = mono_now();
  push_engine engine(*this, opts);
  FTSYNC_TRY(engine.plan(local, remote_dir));
  FTSYNC_TRY(engine.run());
  engine.track.report(true);
  if (engine.track.failed()) return engine.track.final_error();
  auto summary = engine.track.summary();
  summary.dirs = engine.dirs.size() - 1;
  summary.seconds = seconds_since(start);
  summary.wire = m_session->stats();
  return summary;
}

}  // namespace ftsync::ops
