#pragma once
// Where ftsync keeps its files (XDG Base Directory Specification 0.8):
//   $XDG_CONFIG_HOME/ftsync (default ~/.config/ftsync): identity, peers, config.toml
//   $XDG_STATE_HOME/ftsync  (default ~/.local/state/ftsync): state kept between runs
// Tests run several nodes on one machine by giving each its own XDG dirs.
#include <ftsync/util/result.hpp>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>

namespace ftsync::cli {

// Reads an environment variable; replaceable in tests.
using env_lookup = std::function<std::optional<std::string>(const char* name)>;
env_lookup process_env();

struct paths {
  std::filesystem::path config_dir;
  std::filesystem::path state_dir;
  std::filesystem::path identity() const { return config_dir / "identity"; }
  std::filesystem::path peers() const { return config_dir / "peers"; }
  std::filesystem::path config_file() const { return config_dir / "config.toml"; }
};

// Computes the directories from the environment without touching the disk.
// The spec says a relative XDG_* value is invalid and must be ignored.
// errc::invalid_argument when neither XDG_* nor HOME gives an absolute path.
result<paths> resolve_paths(const env_lookup& env);

// Creates `dir` (mode 0700, parents as needed) when missing, then refuses
// (errc::unsafe_permissions) a directory that is a symlink, is not owned by
// the effective user, or is writable by group or others: anyone who can
// write there can replace the trusted peers list or the identity.
status ensure_private_dir(const std::filesystem::path& dir);

}  // namespace ftsync::cli
