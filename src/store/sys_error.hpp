#pragma once
// errno -> errc mapping and stat -> file_info conversion shared by the store's
// sources. Messages always name the path and carry the OS text.
#include <ftsync/store/root.hpp>
#include <ftsync/util/result.hpp>

#include <sys/stat.h>

#include <cstdint>
#include <string_view>

namespace ftsync::store {

// ENOENT->not_found, EEXIST->already_exists, ENOTDIR->not_a_directory,
// EISDIR->is_a_directory, ENOTEMPTY->not_empty, EACCES/EPERM->permission_denied,
// ENOSPC/EDQUOT->no_space, ELOOP/EXDEV->path_escapes_root, anything else io.
errc errc_from_errno(int err) noexcept;

// "<what> '<path>': <strerror>" with the mapped code. `path` is escaped for
// logs, so names read from disk (not validated) are safe to pass.
error sys_error(int err, std::string_view what, std::string_view path);

// Same, with an explicit code (for errnos whose meaning depends on the call).
error sys_error(errc code, int err, std::string_view what, std::string_view path);

// Refusal to change the mode or mtime of a file that has other hard links.
error hard_linked_error(const rel_path& path);

file_kind kind_from_mode(mode_t mode) noexcept;

// Sizes are reported for regular files only: a directory's st_size is a
// filesystem artefact (4096 on ext4, entry count on btrfs) and a symlink's is
// its target length, neither of which a peer should compare.
file_info info_from_stat(const struct stat& st, std::string_view name);

std::int64_t to_ns(const struct timespec& ts) noexcept;
// Floor division so that negative times (before 1970) get tv_nsec in [0, 1e9).
struct timespec from_ns(std::int64_t ns) noexcept;

}  // namespace ftsync::store
