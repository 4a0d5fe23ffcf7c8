#pragma once
// What every subcommand gets: the global flags, the environment, the output
// channel and the XDG directories; plus the registry of subcommands that
// main() fills (one make_<name>() per cmd_<name>.cpp).
#include "cli/config.hpp"
#include "cli/output.hpp"
#include "cli/paths.hpp"

#include <CLI/CLI.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace ftsync::cli {

struct context {
  global_options opts;
  env_lookup env;
  output out;
  paths dirs;

  // Creates (0700) and checks the config directory; prints the error and
  // returns its exit code, or 0 when it is safe to use.
  int prepare_config_dir() const;
  // Config file, then FTSYNC_* environment (flags are applied by the
  // command). Prints warnings; on error prints it and returns nullopt with
  // `exit` set.
  std::optional<settings> load_settings(int& exit) const;
};

struct command {
  CLI::App* app = nullptr;
  // Runs after a successful parse; returns the process exit code.
  std::function<int(context&)> run;
};

// One per subcommand file; each adds its CLI11 subcommand with a one-line
// description and an example in the footer.
command make_keygen(CLI::App& parent);
command make_id(CLI::App& parent);
command make_trust(CLI::App& parent);
command make_untrust(CLI::App& parent);
command make_peers(CLI::App& parent);
command make_serve(CLI::App& parent);
command make_ping(CLI::App& parent);
command make_ls(CLI::App& parent);
command make_push(CLI::App& parent);
command make_pull(CLI::App& parent);
command make_mkdir(CLI::App& parent);
command make_rmdir(CLI::App& parent);
command make_rm(CLI::App& parent);
command make_mv(CLI::App& parent);
command make_sync(CLI::App& parent);
command make_status(CLI::App& parent);
// Hidden (`ftsync __complete ...`): candidates for completions/; it walks
// `parent`'s subcommands, so it is added last.
command make_complete(CLI::App& parent);

// A CLI11 check that runs one of config.hpp's parse_* functions, so that a
// flag, its config key and its variable all fail with the same message.
template <class Parse>
CLI::Validator parsed_by(Parse parse) {
  return CLI::Validator(
      [parse](std::string& v) {
        auto r = parse(v);
        return r ? std::string() : r.err().message;
      },
      "");
}

// --bwlimit RATE on push, pull, sync and serve, checked by parse_rate when
// the command line is parsed; bwlimit_flag() is its value, nullopt when
// the flag was not given.
void add_bwlimit_option(CLI::App& app, std::string& text, const std::string& help);
std::optional<std::uint64_t> bwlimit_flag(const std::string& text);

// "Example:\n  ftsync ..." footer text shared by the subcommands.
std::string example_footer(std::initializer_list<const char*> lines);

}  // namespace ftsync::cli
