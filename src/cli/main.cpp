// ftsync: secure peer-to-peer file transfer. Parses the command line with
// CLI11, sets up logging and the XDG directories, and runs one subcommand
// (src/cli/cmd_<name>.cpp). Exit codes: cli/exit_codes.hpp.
#include "cli/context.hpp"
#include "cli/exit_codes.hpp"
#include "cli/signals.hpp"

#include <ftsync/crypto/keys.hpp>
#include <ftsync/util/log.hpp>

#include <sys/resource.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <new>

namespace {

using namespace ftsync;
using namespace ftsync::cli;

const char* const k_footer = R"(
Exit codes: 0 ok, 1 internal error, 2 usage error or unknown peer, 3 connection or
authentication failure, 4 error reported by the peer, 5 local I/O error or unsafe
permissions, 6 integrity failure, 130 interrupted.
Files: $XDG_CONFIG_HOME/ftsync/{identity,peers,config.toml} (default ~/.config/ftsync).
Environment: FTSYNC_LISTEN, FTSYNC_ROOT, FTSYNC_NAME, FTSYNC_IDLE_TIMEOUT,
FTSYNC_CONNECT_TIMEOUT, FTSYNC_BWLIMIT, FTSYNC_SERVE_BWLIMIT,
FTSYNC_MAX_SESSIONS (override config.toml; flags override both), NO_COLOR.
Run 'ftsync COMMAND --help' for a command's options and an example.
)";

// The identity's secret key is in memory for the whole run; a core file
// would write it to disk where other tools can read it.
void disable_core_dumps() {
  struct rlimit none {0, 0};
  ::setrlimit(RLIMIT_CORE, &none);
}

bool wants_json(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--") == 0) return false;
    if (std::strcmp(argv[i], "--json") == 0) return true;
  }
  return false;
}

// The first argument that is neither a flag nor the value of --config.
const char* first_word(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--config") == 0) {
      ++i;
      continue;
    }
    if (argv[i][0] != '-') return argv[i];
  }
  return nullptr;
}

int run(int argc, char** argv) {
  disable_core_dumps();
  ignore_sigpipe();

  CLI::App app{"ftsync: send, fetch and manage files between trusted peers over an authenticated, "
               "encrypted UDP session.",
               "ftsync"};
  // Set before subcommands are added: they copy it.
  app.failure_message([](const CLI::App*, const CLI::Error& e) {
    return std::string("ftsync: ") + e.what() + "\nRun 'ftsync --help' or 'ftsync COMMAND --help' for usage.\n";
  });
  global_options opts;
  app.add_flag("--json", opts.json, "Print results as JSON, one object per line");
  auto* verbose = app.add_flag("-v,--verbose", opts.verbose, "Debug logging, and a line per file or path");
  app.add_flag("-q,--quiet", opts.quiet, "Only errors: no progress, notes or summaries")->excludes(verbose);
  app.add_option("--config", opts.config_file, "Config file instead of $XDG_CONFIG_HOME/ftsync/config.toml")
      ->type_name("FILE");
  app.set_version_flag("--version", std::string("ftsync ") + FTSYNC_VERSION, "Print the version and exit");
  app.require_subcommand(1);
  app.fallthrough();  // global flags are also accepted after the subcommand
  app.footer(k_footer);

  std::vector<command> commands = {make_keygen(app), make_id(app),   make_trust(app), make_untrust(app),
                                   make_peers(app),  make_serve(app), make_ping(app),  make_ls(app),
                                   make_push(app),   make_pull(app),  make_mkdir(app), make_rmdir(app),
                                   make_rm(app),     make_mv(app),    make_sync(app),  make_status(app),
                                   make_complete(app)};

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    std::string message = e.what();
    bool any_parsed = false;
    for (const auto& c : commands) any_parsed = any_parsed || c.app->parsed();
    if (!any_parsed && e.get_exit_code() != 0) {
      // CLI11 reports a mistyped command as "A subcommand is required".
      std::string names;
      for (const auto& c : commands)
        if (!c.app->get_group().empty())  // hidden ones (__complete) are not for people
          names += (names.empty() ? "" : ", ") + c.app->get_name();
      const char* word = first_word(argc, argv);
      message = word != nullptr ? "unknown command '" + escape_for_log(word) + "' (commands: " + names + ")"
                                : "a command is required: " + names;
      std::fprintf(stderr, "ftsync: %s\nRun 'ftsync --help' for usage.\n", message.c_str());
    } else if (dynamic_cast<const CLI::CallForVersion*>(&e) != nullptr && wants_json(argc, argv)) {
      // Scripts asking with --json get JSON here too.
      const std::string s = json_line({{"event", "version"}, {"version", FTSYNC_VERSION}}) + "\n";
      std::fwrite(s.data(), 1, s.size(), stdout);
      return exit_code::ok;
    } else if (app.exit(e) == 0) {
      return exit_code::ok;  // --help, --version
    }
    if (wants_json(argc, argv)) {
      const std::string s = json_line(error_json(make_error(errc::invalid_argument, message))) + "\n";
      std::fwrite(s.data(), 1, s.size(), stdout);
    }
    return exit_code::usage;  // not CLI11's 105-115: scripts test for 2
  }

  if (opts.verbose)
    log::set_level(log::level::debug);
  else if (opts.quiet)
    log::set_level(log::level::error);

  const command* chosen = nullptr;
  for (const auto& c : commands)
    if (c.app->parsed()) chosen = &c;
  if (chosen == nullptr) return exit_code::usage;  // require_subcommand(1) makes this unreachable

  const env_lookup env = process_env();
  output out(opts, chosen->app->get_name(), env);
  if (auto st = crypto::init(); !st) return out.fail("", st.err(), exit_code::internal);
  auto dirs = resolve_paths(env);
  if (!dirs) return out.fail("", dirs.err(), exit_code::local_io);
  context ctx{opts, env, out, *dirs};
  return chosen->run(ctx);
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::bad_alloc&) {
    std::fputs("ftsync: out of memory\n", stderr);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "ftsync: internal error: %s\n", e.what());
  }
  return ftsync::cli::exit_code::internal;
}
