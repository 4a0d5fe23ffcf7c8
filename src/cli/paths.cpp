#include "cli/paths.hpp"

#include <ftsync/util/file_mode.hpp>
#include <ftsync/util/log.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace ftsync::cli {
namespace {

std::optional<std::filesystem::path> absolute_env(const env_lookup& env, const char* name) {
  auto v = env(name);
  if (!v || v->empty()) return std::nullopt;
  std::filesystem::path p(*v);
  if (!p.is_absolute()) return std::nullopt;
  return p;
}

}  // namespace

env_lookup process_env() {
  return [](const char* name) -> std::optional<std::string> {
    const char* v = std::getenv(name);
    if (v == nullptr) return std::nullopt;
    return std::string(v);
  };
}

result<paths> resolve_paths(const env_lookup& env) {
  const auto home = absolute_env(env, "HOME");
  paths out;
  if (auto c = absolute_env(env, "XDG_CONFIG_HOME")) {
    out.config_dir = *c / "ftsync";
  } else if (home) {
    out.config_dir = *home / ".config" / "ftsync";
  } else {
    return make_error(errc::invalid_argument,
                      "cannot find the config directory: set HOME or XDG_CONFIG_HOME to an absolute path");
  }
  if (auto s = absolute_env(env, "XDG_STATE_HOME")) {
    out.state_dir = *s / "ftsync";
  } else if (home) {
    out.state_dir = *home / ".local" / "state" / "ftsync";
  } else {
    return make_error(errc::invalid_argument,
                      "cannot find the state directory: set HOME or XDG_STATE_HOME to an absolute path");
  }
  return out;
}

status ensure_private_dir(const std::filesystem::path& dir) {
  const std::string shown = escape_for_log(dir.string());
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) return make_error(errc::io, "cannot stat " + shown + ": " + std::strerror(errno));
    // Parents get the default mode (like mkdir -p); only ours must be private.
    std::error_code ec;
    if (dir.has_parent_path()) std::filesystem::create_directories(dir.parent_path(), ec);
    if (ec) return make_error(errc::io, "cannot create " + escape_for_log(dir.parent_path().string()) + ": " + ec.message());
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
      return make_error(errno == ENOSPC ? errc::no_space : errc::io,
                        "cannot create " + shown + ": " + std::strerror(errno));
    if (::lstat(dir.c_str(), &st) != 0)
      return make_error(errc::io, "cannot stat " + shown + ": " + std::strerror(errno));
  }
  if (S_ISLNK(st.st_mode))
    return make_error(errc::unsafe_permissions,
                      shown + " is a symlink; ftsync needs a real directory it owns (mode 0700)");
  if (!S_ISDIR(st.st_mode)) return make_error(errc::not_a_directory, shown + " is not a directory");
  if (st.st_uid != ::geteuid())
    return make_error(errc::unsafe_permissions, shown + " is not owned by the current user");
  if ((st.st_mode & 022) != 0) {
    return make_error(errc::unsafe_permissions, shown + " has mode " + octal_mode(st.st_mode) +
                                                    " (writable by others); fix it with chmod 700 " + shown);
  }
  return {};
}

}  // namespace ftsync::cli
