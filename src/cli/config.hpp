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
//   bwlimit = "20M"            # all sessions together, bytes/s      (FTSYNC_SERVE_BWLIMIT)
//   max_sessions = 128         # clients at once                     (FTSYNC_MAX_SESSIONS)
//   [client]
//   connect_timeout = 10       # seconds to reach and authenticate a peer (FTSYNC_CONNECT_TIMEOUT)
//   bwlimit = "5M"             # each push/pull/sync, both directions (FTSYNC_BWLIMIT)
//   [sync.NAME]                # a named sync pair: `ftsync sync NAME`
//   folder = "/home/me/notes"  # the local folder
//   peer = "laptop:/notes"     # the peer's folder, PEER:DIR
//   rescan_interval = 60       # optional, seconds (as --rescan-interval)
// Unknown keys are reported as warnings (a later version may know them); a
// value of the wrong type, or a file that is not valid TOML, is an error.
#include "cli/paths.hpp"

#include <ftsync/util/result.hpp>

#include <cstdint>
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
  std::optional<std::uint64_t> serve_bwlimit;   // bytes/s, 0 = none
  std::optional<std::uint64_t> client_bwlimit;  // bytes/s, 0 = none
  std::optional<std::size_t> max_sessions;
};

// Bounds of a bandwidth limit. Below 8 KiB/s one 128 KiB block takes over
// 16 s, too close to the 30 s request timeout; above 1 TiB/s is a typo.
inline constexpr double k_min_rate = 8 * 1024;
inline constexpr double k_max_rate = 1024.0 * 1024 * 1024 * 1024;
// ENet peer ids are 12 bits.
inline constexpr std::size_t k_max_sessions = 4000;

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
// FTSYNC_CONNECT_TIMEOUT, FTSYNC_BWLIMIT, FTSYNC_SERVE_BWLIMIT,
// FTSYNC_MAX_SESSIONS. Empty values count as unset.
result<settings> settings_from_env(const env_lookup& env);

// `lower` with every value that `higher` sets replaced.
settings overlay(settings lower, const settings& higher);

// A positive, finite number of seconds up to one year ("30", "0.5").
// errc::invalid_argument otherwise.
result<double> parse_seconds(std::string_view text);
bool valid_seconds(double s) noexcept;

// A bandwidth limit as rsync's --bwlimit takes it, in bytes/s: "512K",
// "10M", "1.5G", "100000B" ("10MB", "10MiB", "10M/s" too); a bare number is
// KiB/s; 0 is no limit. errc::invalid_argument outside 8 KiB/s - 1 TiB/s.
result<std::uint64_t> parse_rate(std::string_view text);
// "10M", "512K", "no limit": for messages.
std::string format_rate(std::uint64_t bytes_per_s);

// Sessions a server holds at once, 1-4000.
result<std::size_t> parse_session_count(std::string_view text);

}  // namespace ftsync::cli
