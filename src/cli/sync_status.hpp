#pragma once
// The small JSON file a running `ftsync sync` keeps up to date so that
// `ftsync status` (another process) can show it: one file per sync pair in
// $XDG_STATE_HOME/ftsync/sync/<hash>.json, replaced atomically (write to a
// temp file, rename) so a reader never sees half of one.
#include "cli/paths.hpp"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

namespace ftsync::cli {

std::filesystem::path sync_status_dir(const paths& dirs);
std::filesystem::path sync_status_file(const paths& dirs, const std::filesystem::path& folder,
                                       const std::string& peer_path);
// Best effort: a status file that cannot be written only loses the display.
void write_sync_status(const std::filesystem::path& file, const nlohmann::ordered_json& j);
std::vector<nlohmann::ordered_json> read_sync_statuses(const paths& dirs);

}  // namespace ftsync::cli
