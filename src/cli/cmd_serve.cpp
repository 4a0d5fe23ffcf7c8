// ftsync serve --root DIR [--listen HOST:PORT] [--idle-timeout SECONDS] [--name NAME]
#include "cli/remote_peer.hpp"
#include "cli/signals.hpp"

#include <ftsync/ops/file_server.hpp>
#include <ftsync/index/entry.hpp>
#include <ftsync/session/server.hpp>
#include <ftsync/store/root.hpp>
#include <ftsync/sync/service.hpp>
#include <ftsync/util/log.hpp>

#include <unistd.h>

#include <chrono>
#include <cmath>

namespace ftsync::cli {
namespace {

struct serve_args {
  std::string root;
  std::string listen;
  double idle_timeout_s = 0;  // 0: not given
  std::string name;
  std::string bwlimit;       // "" when not given
  std::size_t max_sessions = 0;  // 0: not given
};

// One port, one session, two services: folder sync messages (wire ids
// 70-81) go to the sync service, everything else to the one-off file server.
// Composed here so that ops (file_server) needs no knowledge of sync.
class combined_handler final : public session::request_handler {
 public:
  combined_handler(ops::file_server& files, sync::service& folders) : m_files(files), m_sync(folders) {}
  void on_open(session::session_ref& s) override {
    m_files.on_open(s);
    m_sync.on_open(s);
  }
  status on_message(session::session_ref& s, wire::message&& m) override {
    if (sync::is_sync_message(m)) return m_sync.on_message(s, std::move(m));
    return m_files.on_message(s, std::move(m));
  }
  void on_close(session::session_ref& s, const error* why) override {
    m_sync.on_close(s, why);
    m_files.on_close(s, why);
  }
  bool has_deferred_work() const override { return m_files.has_deferred_work() || m_sync.has_deferred_work(); }
  void on_idle() override {
    m_files.on_idle();
    m_sync.on_idle();
  }

 private:
  ops::file_server& m_files;
  sync::service& m_sync;
};

// Periodic full rescan of a served folder that is synced; the watcher
// triggers rescans in between (sync/service.hpp).
constexpr std::chrono::seconds k_served_rescan_interval{60};

std::string default_server_name() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return "ftsync";
  return host;
}

// parse_endpoint wants a port a client can connect to (1-65535); a listener
// may also ask for port 0, "any free port" (tests run many servers at once).
result<transport::endpoint> parse_listen(const std::string& text) {
  if (text.size() > 2 && text.compare(text.size() - 2, 2, ":0") == 0) {
    auto ep = transport::parse_endpoint(std::string_view(text).substr(0, text.size() - 2));
    if (ep) ep->port = 0;
    return ep;
  }
  return transport::parse_endpoint(text);
}

int run_serve(context& ctx, const serve_args& a) {
  if (int rc = ctx.prepare_config_dir(); rc != exit_code::ok) return rc;
  int exit = 0;
  auto cfg = ctx.load_settings(exit);
  if (!cfg) return exit;
  // Flags win over FTSYNC_* and the config file (already merged in cfg).
  settings flags;
  if (!a.root.empty()) flags.root = a.root;
  if (!a.listen.empty()) flags.listen = a.listen;
  if (a.idle_timeout_s > 0) flags.idle_timeout_s = a.idle_timeout_s;
  if (!a.name.empty()) flags.name = a.name;
  flags.serve_bwlimit = bwlimit_flag(a.bwlimit);
  if (a.max_sessions > 0) flags.max_sessions = a.max_sessions;
  const settings s = overlay(*cfg, flags);

  if (!s.root)
    return ctx.out.fail("", make_error(errc::invalid_argument,
                                       "no folder to serve: pass --root DIR (or set FTSYNC_ROOT, or root in "
                                       "[serve] of config.toml)"),
                        exit_code::usage);
  const std::string listen_text =
      s.listen.value_or("0.0.0.0:" + std::to_string(limits::default_port));
  auto listen = parse_listen(listen_text);
  if (!listen) return ctx.out.fail(listen_text, listen.err(), exit_code::usage);

  auto me = load_identity(ctx);
  if (!me.value) return me.exit;
  auto root = store::root::open(*s.root);
  if (!root) return ctx.out.fail("", root.err(), phase::local);
  if (auto cleaned = root->clean_partials(rel_path{}, limits::stale_partial_age_s); !cleaned)
    ctx.out.warn("old partial files were not removed: " + cleaned.err().message);

  session::server_options opts;
  opts.listen = *listen;
  if (s.idle_timeout_s)
    opts.idle_timeout =
        std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(*s.idle_timeout_s * 1000.0)));
  opts.server_name = s.name.value_or(default_server_name());
  opts.max_send_rate = s.serve_bwlimit.value_or(0);
  opts.max_sessions = s.max_sessions.value_or(limits::max_sessions);

  // Checked once now so that an unsafe peers file (a symlink, readable by
  // others, not ours) stops the start with the fix, as an unsafe key does;
  // later the watcher fails closed instead (refuses everyone, warns).
  if (auto peers = session::trust_store::load(ctx.dirs.peers()); !peers)
    return ctx.out.fail("", peers.err(), phase::local);
  // Re-read for every new session: trust/untrust apply without a restart.
  auto watcher = std::make_shared<session::trust_watcher>(ctx.dirs.peers());
  session::trust_lookup lookup = [watcher](const crypto::public_key& k) { return watcher->lookup(k); };

  const std::atomic<bool>& stop = install_stop_flag();
  auto server = session::server::start(opts, *me.value, lookup);
  if (!server) {
    // The transport's message names the address. A name that does not
    // resolve is a bad --listen value, not a failed connection.
    const bool bad_address = server.code() == errc::connection_failed || server.code() == errc::invalid_argument;
    return ctx.out.fail("", server.err(), bad_address ? exit_code::usage : exit_code_for(server.err(), phase::local));
  }

  const std::string root_text = root->location().string();
  transport::endpoint bound = *listen;
  bound.port = (*server)->port();
  const std::string id_text = crypto::format_id(me.value->key());
  ctx.out.emit({{"event", "listening"},
                {"root", root_text},
                {"address", bound.to_string()},
                {"host", bound.host},
                {"port", bound.port},
                {"id", id_text},
                {"name", opts.server_name}});
  ctx.out.line("ftsync: serving " + root_text + " on " + bound.to_string() + " as " + id_text);
  std::fflush(stdout);

  // The served folder's sync index (its own root handle: the file server
  // owns the other one).
  // Without a writable state dir the one-off commands still work; sync
  // requests are then refused (an unknown message type ends that session).
  auto synced = sync::folder::open(*s.root, sync::index_file_for(ctx.dirs.state_dir, *s.root),
                                   index::device_of(me.value->key()), false);
  std::unique_ptr<sync::service> folders;
  if (synced)
    folders = std::make_unique<sync::service>(std::move(*synced), true, k_served_rescan_interval);
  else
    ctx.out.warn("folder sync is off for this server: " + synced.err().message);
  ops::file_server files(std::move(*root));
  std::unique_ptr<session::request_handler> combined;
  if (folders) combined = std::make_unique<combined_handler>(files, *folders);
  session::request_handler& handler = combined ? *combined : static_cast<session::request_handler&>(files);
  auto ran = (*server)->run(handler, stop);
  if (!ran) return ctx.out.fail(listen_text, ran.err(), phase::local);
  const auto c = (*server)->counters();
  log::info("stopped: " + std::to_string(c.sessions_opened) + " sessions, " + std::to_string(c.sessions_refused) +
            " refused, " + std::to_string(c.handshake_failures) + " failed handshakes, " +
            std::to_string(c.protocol_errors) + " protocol errors");
  return exit_code::ok;
}

}  // namespace

command make_serve(CLI::App& parent) {
  auto args = std::make_shared<serve_args>();
  auto* app = parent.add_subcommand("serve", "Serve a folder to trusted peers, many at once, until SIGINT/SIGTERM");
  app->add_option("-r,--root", args->root, "Folder to serve (must exist) [env FTSYNC_ROOT, config serve.root]")
      ->type_name("DIR");
  app->add_option("-l,--listen", args->listen,
                  "Address and UDP port to listen on; port 0 picks a free one [default 0.0.0.0:47800, env "
                  "FTSYNC_LISTEN, config serve.listen]")
      ->type_name("HOST:PORT");
  app->add_option("--idle-timeout", args->idle_timeout_s,
                  "Seconds before an idle session is closed [default 300, env FTSYNC_IDLE_TIMEOUT, config "
                  "serve.idle_timeout]")
      ->check(parsed_by(parse_seconds))
      ->type_name("SECONDS");
  app->add_option("--name", args->name, "Name announced to clients [default: host name, env FTSYNC_NAME]")
      ->type_name("NAME");
  add_bwlimit_option(*app, args->bwlimit,
                     "Bandwidth limit in bytes/s for all sessions together: 512K, 10M, 1.5G (a bare number is "
                     "KiB/s; 0 is none) [env FTSYNC_SERVE_BWLIMIT, config serve.bwlimit]");
  app->add_option("--max-sessions", args->max_sessions,
                  "Clients served at once; more are turned away [default 128, env FTSYNC_MAX_SESSIONS, config "
                  "serve.max_sessions]")
      ->check(CLI::Range(std::size_t{1}, k_max_sessions))
      ->type_name("N");
  app->footer(example_footer({"ftsync serve --root ~/shared --listen 0.0.0.0:47800"}));
  return {app, [args](context& ctx) { return run_serve(ctx, *args); }};
}

}  // namespace ftsync::cli
