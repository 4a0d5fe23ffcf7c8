#pragma once
// Settings for long-lived values, from four layers; a higher one wins:
//   1. command-line flags
//   2. FTSYNC_* environment variables
//   3. the config file ($XDG_CONFIG_HOME/ftsync/config.toml, or --config FILE)
//   4. built-in defaults
// Keys of the config file (TOML):
//   [serve]
//   listen = "0.0.0.0:47800"   # address and UDP port to serve on   (FTSYNC_LISTEN)
//   root = "/srv/share"        # folder to serve                    (FTSYNC_ROOT)
//   idle_timeout = 300         # seconds before an idle session ends (FTSYNC_IDLE_TIMEOUT)
//   name = "nas"               # name announced to clients          (FTSYNC_NAME)
//   [client]
//   connect_timeout = 10       # seconds to reach and authenticate a peer (FTSYNC_CONNECT_TIMEOUT)
//   [sync.NAME]                # a named sync pair: `ftsync sync NAME`
//   folder = "/home/me/notes"  # the local folder
//   peer = "laptop:/notes"     # the peer's folder, PEER:DIR
//   rescan_interval = 60       # optional, seconds (as --rescan-interval)
// Unknown keys are reported as warnings (a later version may know them); a
// value of the wrong type, or a file that is not valid TOML, is an error.
#include "cli/paths.hpp"

#include <ftsync/util/result.hpp>

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ftsync::cli {

// One [sync.NAME] table.
struct sync_pair {
  std::string folder;
  std::string peer;
  std::optional<double> rescan_interval_s;
};

struct settings {
  std::map<std::string, sync_pair> sync_pairs;  // config file only
  std::optional<std::string> listen;
  std::optional<std::string> root;
  std::optional<std::string> name;
  std::optional<double> idle_timeout_s;
  std::optional<double> connect_timeout_s;
};

struct config_contents {
  settings values;
  std::vector<std::string> warnings;  // "FILE:LINE:COL: unknown key 'serve.x' (ignored)"
};

// Parses TOML text; `source` names it in messages. Errors are
// errc::invalid_argument with "SOURCE:LINE:COL: reason".
result<config_contents> parse_config(std::string_view text, const std::string& source);

// Reads and parses `file`. A missing file is empty settings unless
// `must_exist` (an explicit --config FILE): then errc::not_found.
result<config_contents> load_config(const std::filesystem::path& file, bool must_exist);

// FTSYNC_LISTEN, FTSYNC_ROOT, FTSYNC_NAME, FTSYNC_IDLE_TIMEOUT,
// FTSYNC_CONNECT_TIMEOUT. Empty values count as unset.
result<settings> settings_from_env(const env_lookup& env);

// `lower` with every value that `higher` sets replaced.
settings overlay(settings lower, const settings& higher);

// A positive, finite number of seconds up to one year ("30", "0.5").
// errc::invalid_argument otherwise.
result<double> parse_seconds(std::string_view text);
bool valid_seconds(double s) noexcept;

}  // namespace ftsync::cli
