#pragma once
// Reading directory entries from a confined directory fd.
#include <ftsync/store/root.hpp>
#include <ftsync/util/result.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace ftsync::store {

// Recursion bound for walk(), remove_tree() and clean_partials(). A valid
// rel_path can nest ~2048 levels ("a/a/a/..." in 4096 bytes); 256 is far
// beyond real trees and keeps the recursion's stack use (a few hundred bytes
// per level) and open fds (one per level) small.
inline constexpr int k_max_depth = 256;

// All names in the directory except "." and "..", unsorted. `dir_fd` must be
// readable (not O_PATH); it is not consumed.
result<std::vector<std::string>> read_dir_names(int dir_fd, std::string_view shown);

// The same names with readdir's d_type (DT_REG, DT_DIR, ...; DT_UNKNOWN
// where the filesystem does not say): lets a sweep skip the lstat of
// entries it can rule out by type alone.
struct dir_name {
  std::string name;
  unsigned char type = 0;
};
result<std::vector<dir_name>> read_dir_typed(int dir_fd, std::string_view shown);

// The entries list() reports: lstat'ed, sorted by name, reserved names left
// out. Names that are not valid rel_path components (invalid UTF-8, control
// characters, backslash) cannot be named by any caller or peer, so they are
// skipped too and logged at debug level. Entries that vanish between readdir
// and lstat are skipped.
result<std::vector<file_info>> list_entries(int dir_fd, std::string_view shown);

}  // namespace ftsync::store
