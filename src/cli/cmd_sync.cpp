// ftsync sync DIR PEER:DIR [--once] [--rescan-interval SECONDS]
// ftsync sync NAME [--once]      (a [sync.NAME] pair from config.toml)
#include "cli/format.hpp"
#include "cli/peer_path.hpp"
#include "cli/remote_peer.hpp"
#include "cli/signals.hpp"
#include "cli/sync_status.hpp"
#include "cli/transfer_report.hpp"

#include <ftsync/store/watcher.hpp>
#include <ftsync/sync/engine.hpp>
#include <ftsync/util/clock.hpp>
#include <ftsync/util/limits.hpp>
#include <ftsync/util/log.hpp>

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <thread>

namespace ftsync::cli {
namespace {

using namespace std::chrono_literals;

struct sync_args {
  std::string local;  // or the name of a configured pair when `remote` is empty
  std::string remote;
  bool once = false;
  double rescan_interval_s = 60;
  const CLI::Option* rescan_flag = nullptr;  // given on the command line?
  std::string bwlimit;  // --bwlimit, "" when not given
};

// `ftsync sync NAME`: fills folder, peer and rescan interval from the
// config's [sync.NAME]; the command line's --rescan-interval still wins.
std::optional<int> resolve_pair(context& ctx, sync_args& a) {
  if (!a.remote.empty()) return std::nullopt;
  int exit = 0;
  auto cfg = ctx.load_settings(exit);
  if (!cfg) return exit;
  auto it = cfg->sync_pairs.find(a.local);
  if (it == cfg->sync_pairs.end()) {
    std::string known;
    for (const auto& [name, pair] : cfg->sync_pairs) known += (known.empty() ? "" : ", ") + name;
    return ctx.out.fail(a.local,
                        make_error(errc::invalid_argument,
                                   "no sync pair of that name in the config (" +
                                       (known.empty() ? std::string("it has none") : "it has: " + known) +
                                       "); or give DIR PEER:DIR"),
                        exit_code::usage);
  }
  a.local = it->second.folder;
  a.remote = it->second.peer;
  if (it->second.rescan_interval_s && (a.rescan_flag == nullptr || a.rescan_flag->count() == 0))
    a.rescan_interval_s = *it->second.rescan_interval_s;
  return std::nullopt;
}

// Background mode timing. A local change is seen by inotify at once; we
// wait until the tree is quiet for 100 ms (an editor's save is several
// events; a copy of many files is a burst) but never more than 500 ms, so a
// change reaches the peer well within the 1 s the issue asks for. The
// peer's index is polled every 250 ms (an empty reply is ~100 bytes on the
// wire), so changes made on the serving node arrive within ~0.5 s too.
constexpr auto k_debounce_quiet = 100ms;
constexpr auto k_debounce_max = 500ms;
constexpr auto k_poll_interval = 250ms;
// Watcher paths gathered before a round; beyond this many a full rescan
// (one pass over the tree) is cheaper than one lookup per path.
constexpr std::size_t k_max_changed_paths = 8192;
// Reconnect back-off after the peer went away: 1 s doubling to 30 s.
constexpr auto k_reconnect_min = 1s;
constexpr auto k_reconnect_max = 30s;

nlohmann::ordered_json event_json(const sync::sync_event& ev) {
  return {{"event", "file"}, {"path", ev.path},        {"action", ev.action},
          {"size", ev.size}, {"bytes", ev.data_bytes}, {"note", ev.note}};
}

nlohmann::ordered_json sync_summary_json(const sync::sync_totals& t, double seconds, const session::traffic& wire) {
  ops::transfer_summary s;
  s.files = t.files;
  s.dirs = t.dirs;
  s.bytes = t.bytes;
  s.resumed_bytes = t.resumed_bytes;
  s.seconds = seconds;
  s.wire = wire;
  auto j = summary_json("sync", s);
  j["deleted"] = t.deleted;
  j["renamed"] = t.renamed;
  j["conflicts"] = t.conflicts;
  j["bytes_sent"] = t.bytes_sent;
  j["bytes_received"] = t.bytes_received;
  j["reused_bytes"] = t.reused_bytes;
  j["hashed_files"] = t.hashed_files;
  j["pending"] = t.pending;
  j["rounds"] = t.rounds;
  return j;
}

std::string summary_text(const sync::sync_totals& t, double seconds, const session::traffic& wire) {
  std::string line = "synced: " + plural(t.files, "file", "files") + ", " + plural(t.dirs, "directory", "directories") +
                     ", " + std::to_string(t.deleted) + " deleted, " + std::to_string(t.renamed) + " renamed, " +
                     plural(t.conflicts, "conflict", "conflicts") + "; " + human_size(t.bytes) + " of file data in " +
                     human_seconds(seconds) + " (wire: " + human_size(wire.wire_bytes_sent) + " sent, " +
                     human_size(wire.wire_bytes_received) + " received)";
  if (t.pending > 0) line += "; " + std::to_string(t.pending) + " still pending";
  return line;
}

class status_publisher {
 public:
  status_publisher(const context& ctx, const std::filesystem::path& folder, const std::string& peer_path,
                   std::string peer_name)
      : m_file(sync_status_file(ctx.dirs, folder, peer_path)) {
    std::error_code ec;
    m_base = {{"folder", std::filesystem::absolute(folder, ec).lexically_normal().string()},
              {"remote", peer_path},
              {"peer", std::move(peer_name)},
              {"pid", static_cast<std::int64_t>(::getpid())}};
  }
  void publish(bool connected, const sync::sync_totals& last, const sync::sync_totals& total, double rate_up,
               double rate_down, bool completed) {
    if (completed) m_last_sync_ns = wall_now_ns();
    auto j = m_base;
    j["connected"] = connected;
    j["pending_files"] = last.pending;
    j["pending_bytes"] = last.pending_bytes;
    j["last_sync_ns"] = m_last_sync_ns;
    j["rate_up_bytes_per_second"] = rate_up;
    j["rate_down_bytes_per_second"] = rate_down;
    j["conflicts"] = total.conflicts;
    j["files"] = total.files;
    j["bytes"] = total.bytes;
    j["updated_ns"] = wall_now_ns();
    write_sync_status(m_file, j);
  }

 private:
  std::filesystem::path m_file;
  nlohmann::ordered_json m_base;
  std::int64_t m_last_sync_ns = 0;
};

bool is_session_loss(errc c) {
  return c == errc::disconnected || c == errc::timeout || c == errc::connection_failed || c == errc::auth_failed ||
         c == errc::malformed || c == errc::unexpected_message;
}

int run_sync(context& ctx, sync_args a) {
  if (auto exit = resolve_pair(ctx, a)) return *exit;
  auto target = parse_peer_path(a.remote);
  if (!target) return ctx.out.fail(a.remote, target.err(), exit_code::usage);
  if (parse_peer_path(a.local).ok() && !std::filesystem::exists(a.local))
    return ctx.out.fail(a.local, make_error(errc::invalid_argument, "expected a local DIR, then PEER:DIR"),
                        exit_code::usage);
  {
    std::error_code ec;
    const auto st = std::filesystem::symlink_status(a.local, ec);
    if (!ec && std::filesystem::exists(st) && !std::filesystem::is_directory(std::filesystem::status(a.local, ec)))
      return ctx.out.fail(a.local, make_error(errc::not_a_directory, "not a directory"), exit_code::local_io);
  }
  const std::atomic<bool>* stop = nullptr;
  if (a.once)
    install_interrupt_exit(false, ctx.out.json());
  else
    stop = &install_stop_flag();

  const auto started = mono_now();
  auto c = connect_to_peer(ctx, target->peer, bwlimit_flag(a.bwlimit));
  if (!c.value) return c.exit;
  const crypto::identity& me = *c.value->me;
  auto f = sync::folder::open(a.local, sync::index_file_for(ctx.dirs.state_dir, a.local),
                              index::device_of(me.key()), true);
  if (!f) return ctx.out.fail(a.local, f.err(), phase::local);
  if (auto cleaned = (*f)->root().clean_partials(rel_path{}, limits::stale_partial_age_s); !cleaned)
    ctx.out.warn("old partial files were not removed: " + cleaned.err().message);
  // The remote folder is created when missing (a read-only peer: it must exist).
  if (!target->path.is_root() && !c.value->remote->session().read_only()) {
    auto mk = c.value->remote->make_dir(target->path, true);
    if (!mk) return ctx.out.fail(target->display(), mk.err(), phase::operation);
  }

  sync::engine_options eo;
  eo.peer_key = crypto::format_id(c.value->peer.key);
  eo.remote_dir = target->path;
  eo.my_short_id = crypto::short_id(me.key());
  eo.peer_short_id = crypto::short_id(c.value->peer.key);
  eo.stop = stop;
  eo.on_event = [&ctx](const sync::sync_event& ev) {
    if (ctx.out.json()) {
      ctx.out.emit(event_json(ev));
    } else if (ctx.out.verbose() || ev.action == "conflict") {
      ctx.out.note(ev.action + " " + escape_for_log(ev.path) + (ev.note.empty() ? "" : " (" + escape_for_log(ev.note) + ")"));
    }
  };
  status_publisher status(ctx, a.local, target->display(), c.value->peer.name);

  if (a.once) {
    sync::engine eng(**f, c.value->remote->session(), eo);
    auto t = eng.run_once();
    if (!t) return ctx.out.fail(target->display(), t.err(), phase::operation);
    const double seconds = seconds_since(started);
    const auto wire = c.value->remote->session().stats();
    c.value->remote->close();
    status.publish(false, *t, *t, 0, 0, t->pending == 0);
    ctx.out.emit(sync_summary_json(*t, seconds, wire));
    if (!ctx.out.quiet()) ctx.out.line(summary_text(*t, seconds, wire));
    if (t->pending > 0)
      return ctx.out.fail(a.local,
                          make_error(errc::busy, std::to_string(t->pending) +
                                                     " paths could not be synced (changing while synced, or refused "
                                                     "by the peer); run again"),
                          exit_code::remote);
    return exit_code::ok;
  }

  // Background mode: watch, debounce, sync; poll the peer; reconnect.
  auto watcher = store::watcher::open((*f)->root());
  if (!watcher) ctx.out.warn("no inotify watcher (" + watcher.err().message + "): relying on the periodic rescan");
  const auto rescan_every =
      std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(a.rescan_interval_s * 1000.0)));
  std::optional<connected_peer> conn = std::move(c.value);
  std::unique_ptr<sync::engine> eng = std::make_unique<sync::engine>(**f, conn->remote->session(), eo);
  sync::sync_totals total;
  bool need_scan = true;
  // What the watcher named since the last scan; a full rescan instead when
  // it lost events (overflow), after a reconnect or an error, and every
  // --rescan-interval.
  bool full_scan = true;
  std::vector<rel_path> changed;
  auto note_events = [&](const result<store::watch_events>& ev) {
    if (!ev || ev->overflow) full_scan = true;
    if (ev && !full_scan) changed.insert(changed.end(), ev->paths.begin(), ev->paths.end());
    if (changed.size() > k_max_changed_paths) full_scan = true;
    if (full_scan) changed.clear();
    if (!ev || ev->changed) need_scan = true;
  };
  auto last_scan = mono_now();
  auto backoff = std::chrono::duration_cast<std::chrono::milliseconds>(k_reconnect_min);
  ctx.out.emit({{"event", "syncing"}, {"folder", a.local}, {"remote", target->display()}});
  ctx.out.line("ftsync: syncing " + a.local + " with " + target->display() + " (Ctrl-C stops)");
  std::fflush(stdout);
  sync::sync_totals last;
  while (!stop->load()) {
    if (!conn) {
      auto again = connect_to_peer(ctx, target->peer, bwlimit_flag(a.bwlimit));
      if (!again.value) {
        status.publish(false, last, total, 0, 0, false);
        for (auto waited = 0ms; waited < backoff && !stop->load(); waited += 100ms) std::this_thread::sleep_for(100ms);
        backoff = std::min(backoff * 2, std::chrono::duration_cast<std::chrono::milliseconds>(k_reconnect_max));
        continue;
      }
      conn = std::move(again.value);
      eng = std::make_unique<sync::engine>(**f, conn->remote->session(), eo);
      backoff = std::chrono::duration_cast<std::chrono::milliseconds>(k_reconnect_min);
      need_scan = full_scan = true;
      log::info("reconnected to " + target->peer);
    }
    const auto before = conn->remote->session().stats();
    const auto t0 = mono_now();
    auto r = !need_scan ? eng->round(false) : full_scan ? eng->round(true) : eng->round_changed(std::move(changed));
    if (need_scan && full_scan) last_scan = mono_now();
    need_scan = full_scan = false;
    changed.clear();
    if (!r) {
      if (r.code() == errc::cancelled) break;
      if (is_session_loss(r.code())) {
        log::warn("sync: lost the session with " + target->peer + ": " + r.err().message + "; reconnecting");
        conn.reset();
        eng.reset();
        continue;
      }
      log::warn("sync: " + r.err().message);
      need_scan = full_scan = true;
    } else {
      last = *r;
      total.add(*r);
      const auto after = conn->remote->session().stats();
      const double dt = std::max(seconds_since(t0), 1e-3);
      const double up = static_cast<double>(after.wire_bytes_sent - before.wire_bytes_sent) / dt;
      const double down = static_cast<double>(after.wire_bytes_received - before.wire_bytes_received) / dt;
      status.publish(true, *r, total, up, down, r->pending == 0 || r->failed == 0);
      // Something was applied: look again at once (our own changes settle,
      // and the peer's index now holds what we pushed).
      if (r->pending > 0 && r->failed < r->pending) {
        if (watcher)
          note_events(watcher->poll());
        else
          full_scan = true;
        need_scan = true;
        continue;
      }
    }
    // Wait for a local change (debounced), the next poll or the periodic rescan.
    const auto wait_until = mono_now() + k_poll_interval;
    while (!stop->load() && mono_now() < wait_until) {
      if (!watcher) {
        std::this_thread::sleep_for(50ms);
        continue;
      }
      auto ev = watcher->poll(50ms);
      note_events(ev);
      if (!ev || ev->changed) {
        const auto first = mono_now();
        while (mono_now() - first < k_debounce_max) {
          auto more = watcher->poll(std::chrono::duration_cast<std::chrono::milliseconds>(k_debounce_quiet));
          note_events(more);
          if (more && !more->changed) break;
        }
        break;
      }
    }
    if (mono_now() - last_scan >= rescan_every) need_scan = full_scan = true;
  }
  if (conn) conn->remote->close();
  status.publish(false, last, total, 0, 0, false);
  ctx.out.emit(sync_summary_json(total, seconds_since(started), session::traffic{}));
  return exit_code::ok;
}

}  // namespace

command make_sync(CLI::App& parent) {
  auto args = std::make_shared<sync_args>();
  auto* app = parent.add_subcommand("sync", "Keep a local folder and a peer's folder the same (in the background, or --once)");
  app->add_option("local", args->local, "Local folder (created when missing), or the NAME of a [sync.NAME] pair in the config")
      ->required()
      ->type_name("DIR|NAME");
  app->add_option("remote", args->remote, "Folder on the peer (created when missing)")->type_name("PEER:DIR");
  app->add_flag("--once", args->once, "Bring both sides up to date, print a summary and exit");
  args->rescan_flag = app->add_option("--rescan-interval", args->rescan_interval_s,
                  "Seconds between full rescans that catch what the watcher missed [default 60]")
      ->check(CLI::Range(0.1, 86400.0))
      ->type_name("SECONDS");
  add_bwlimit_option(*app, args->bwlimit, "Bandwidth limit in bytes/s, both directions: 512K, 10M, 1.5G (a bare number is KiB/s, as in rsync; 0 is none) [env FTSYNC_BWLIMIT, config client.bwlimit]");
  app->footer(example_footer({"ftsync sync ~/notes laptop:/notes          # until Ctrl-C",
                              "ftsync --json sync --once ~/notes laptop:/notes",
                              "ftsync sync notes        # [sync.notes] folder and peer from config.toml"}));
  return {app, [args](context& ctx) { return run_sync(ctx, *args); }};
}

}  // namespace ftsync::cli
