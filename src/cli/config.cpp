#include "cli/config.hpp"

#include <ftsync/util/file_mode.hpp>
#include <ftsync/util/log.hpp>

#include <toml++/toml.h>

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace ftsync::cli {
namespace {

// Config files are a few hundred bytes; 1 MiB bounds a mistaken --config
// pointing at a large file.
constexpr std::size_t k_max_config_bytes = 1024 * 1024;
// A year: large enough for any real timeout, small enough that converting
// to milliseconds cannot overflow.
constexpr double k_max_seconds = 365.0 * 24 * 3600;

std::string where(const std::string& source, const toml::source_region& r) {
  return source + ":" + std::to_string(r.begin.line) + ":" + std::to_string(r.begin.column);
}

result<std::string> get_string(const toml::node& n, const std::string& source, const std::string& key) {
  if (auto s = n.value<std::string>(); s && n.is_string()) return *s;
  return make_error(errc::invalid_argument, where(source, n.source()) + ": " + key + " must be a string");
}

result<double> get_seconds(const toml::node& n, const std::string& source, const std::string& key) {
  std::optional<double> v;
  if (n.is_integer()) v = static_cast<double>(*n.value<std::int64_t>());
  else if (n.is_floating_point()) v = *n.value<double>();
  if (!v || !valid_seconds(*v))
    return make_error(errc::invalid_argument, where(source, n.source()) + ": " + key +
                                                  " must be a positive number of seconds (at most a year)");
  return *v;
}

// A bandwidth limit is a string ("512K", "10M") or an integer (KiB/s, as
// rsync's --bwlimit takes it).
result<std::uint64_t> get_rate(const toml::node& n, const std::string& source, const std::string& key) {
  std::string text;
  if (n.is_integer()) text = std::to_string(*n.value<std::int64_t>());
  else if (n.is_string()) text = *n.value<std::string>();
  else return make_error(errc::invalid_argument, where(source, n.source()) + ": " + key + " must be a rate such as \"10M\"");
  auto r = parse_rate(text);
  if (!r) return make_error(errc::invalid_argument, where(source, n.source()) + ": " + key + ": " + r.err().message);
  return *r;
}

result<std::size_t> get_session_count(const toml::node& n, const std::string& source, const std::string& key) {
  if (n.is_integer()) {
    const std::int64_t v = *n.value<std::int64_t>();
    if (v >= 1 && v <= static_cast<std::int64_t>(k_max_sessions)) return static_cast<std::size_t>(v);
  }
  return make_error(errc::invalid_argument, where(source, n.source()) + ": " + key + " must be a whole number 1-" +
                                                std::to_string(k_max_sessions));
}

// Pair names are typed on the command line and shown in logs.
bool valid_pair_name(std::string_view n) {
  if (n.empty() || n.size() > 64) return false;
  for (char ch : n)
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_' && ch != '.') return false;
  return true;
}

status parse_sync_pairs(const toml::node& node, const std::string& source, config_contents& out) {
  const toml::table* pairs = node.as_table();
  if (pairs == nullptr)
    return make_error(errc::invalid_argument, where(source, node.source()) + ": 'sync' must hold tables ([sync.NAME])");
  for (auto&& [name_key, pair_node] : *pairs) {
    const std::string name(name_key.str());
    const toml::table* t = pair_node.as_table();
    if (t == nullptr || !valid_pair_name(name))
      return make_error(errc::invalid_argument,
                        where(source, name_key.source()) + ": 'sync." + escape_for_log(name) +
                            "' must be a table [sync.NAME] with NAME of letters, digits, '-', '_' or '.'");
    sync_pair p;
    for (auto&& [k, v] : *t) {
      const std::string key = "sync." + name + "." + std::string(k.str());
      if (k.str() == "folder" || k.str() == "peer") {
        auto s = get_string(v, source, key);
        if (!s) return std::move(s).err();
        (k.str() == "folder" ? p.folder : p.peer) = std::move(*s);
      } else if (k.str() == "rescan_interval") {
        auto s = get_seconds(v, source, key);
        if (!s) return std::move(s).err();
        p.rescan_interval_s = *s;
      } else {
        out.warnings.push_back(where(source, k.source()) + ": unknown key '" + escape_for_log(key) + "' (ignored)");
      }
    }
    if (p.folder.empty() || p.peer.empty())
      return make_error(errc::invalid_argument, where(source, name_key.source()) + ": sync." + name +
                                                    " needs both folder and peer");
    out.values.sync_pairs[name] = std::move(p);
  }
  return {};
}

}  // namespace

result<std::uint64_t> parse_rate(std::string_view text) {
  const std::string s(text);
  const auto bad = [&] {
    return make_error(errc::invalid_argument,
                      "expected a rate such as 512K, 10M or 1.5G bytes per second (a bare number is KiB/s; 0 is no "
                      "limit; at least 8K), not '" + escape_for_log(s) + "'");
  };
  if (s.empty() || !(std::isdigit(static_cast<unsigned char>(s.front())) || s.front() == '.')) return bad();
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(s.c_str(), &end);
  if (errno != 0 || !std::isfinite(v) || v < 0) return bad();
  // Plain decimals only (strtod also takes "0x10" and "1e3").
  if (!std::all_of(s.c_str(), static_cast<const char*>(end),
                   [](char ch) { return std::isdigit(static_cast<unsigned char>(ch)) || ch == '.'; }))
    return bad();
  std::string_view unit(end);
  double scale = 1024;  // rsync's default unit
  if (!unit.empty()) {
    switch (std::toupper(static_cast<unsigned char>(unit.front()))) {
      case 'B': scale = 1; break;
      case 'K': scale = 1024; break;
      case 'M': scale = 1024.0 * 1024; break;
      case 'G': scale = 1024.0 * 1024 * 1024; break;
      default: return bad();
    }
    unit.remove_prefix(1);
    // "10M", "10MB", "10MiB" and "10M/s" all mean the same.
    for (std::string_view tail : {"iB/s", "B/s", "/s", "iB", "B", ""}) {
      if (unit.size() == tail.size() && std::equal(unit.begin(), unit.end(), tail.begin(), [](char a, char b) {
            return std::toupper(static_cast<unsigned char>(a)) == std::toupper(static_cast<unsigned char>(b));
          })) {
        unit = {};
        break;
      }
    }
    if (!unit.empty()) return bad();
  }
  const double bytes = v * scale;
  if (bytes == 0) return std::uint64_t{0};
  if (bytes < k_min_rate || bytes > k_max_rate) return bad();
  return static_cast<std::uint64_t>(bytes);
}

std::string format_rate(std::uint64_t bytes_per_s) {
  if (bytes_per_s == 0) return "no limit";
  char buf[64];
  const double v = static_cast<double>(bytes_per_s);
  if (v >= 1024.0 * 1024 * 1024) std::snprintf(buf, sizeof buf, "%.4gG", v / (1024.0 * 1024 * 1024));
  else if (v >= 1024.0 * 1024) std::snprintf(buf, sizeof buf, "%.4gM", v / (1024.0 * 1024));
  else std::snprintf(buf, sizeof buf, "%.4gK", v / 1024.0);
  return buf;
}

bool valid_seconds(double s) noexcept { return std::isfinite(s) && s > 0 && s <= k_max_seconds; }

result<double> parse_seconds(std::string_view text) {
  const std::string s(text);
  if (s.empty() || std::isspace(static_cast<unsigned char>(s.front())))
    return make_error(errc::invalid_argument, "expected a number of seconds, not '" + escape_for_log(s) + "'");
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(s.c_str(), &end);
  if (errno != 0 || end != s.c_str() + s.size() || !valid_seconds(v))
    return make_error(errc::invalid_argument, "expected a positive number of seconds (at most a year), not '" +
                                                  escape_for_log(s) + "'");
  return v;
}

result<std::size_t> parse_session_count(std::string_view text) {
  const std::string s(text);
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(s.c_str(), &end, 10);
  if (s.empty() || !std::isdigit(static_cast<unsigned char>(s.front())) || errno != 0 ||
      end != s.c_str() + s.size() || v < 1 || v > static_cast<long long>(k_max_sessions))
    return make_error(errc::invalid_argument, "expected a whole number of sessions 1-" + std::to_string(k_max_sessions) +
                                                  ", not '" + escape_for_log(s) + "'");
  return static_cast<std::size_t>(v);
}

result<config_contents> parse_config(std::string_view text, const std::string& source) {
  toml::table table;
  try {
    table = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    return make_error(errc::invalid_argument,
                      where(source, e.source()) + ": " + std::string(e.description()));
  }
  config_contents out;
  for (auto&& [key, node] : table) {
    const std::string section(key.str());
    if (section == "sync") {
      FTSYNC_TRY(parse_sync_pairs(node, source, out));
      continue;
    }
    if (section != "serve" && section != "client") {
      out.warnings.push_back(where(source, key.source()) + ": unknown key '" + escape_for_log(section) +
                             "' (ignored)");
      continue;
    }
    const toml::table* t = node.as_table();
    if (t == nullptr)
      return make_error(errc::invalid_argument, where(source, node.source()) + ": '" + section +
                                                    "' must be a table ([" + section + "])");
    for (auto&& [k, v] : *t) {
      const std::string name = section + "." + std::string(k.str());
      if (name == "serve.listen") {
        auto s = get_string(v, source, name);
        if (!s) return std::move(s).err();
        out.values.listen = std::move(*s);
      } else if (name == "serve.root") {
        auto s = get_string(v, source, name);
        if (!s) return std::move(s).err();
        out.values.root = std::move(*s);
      } else if (name == "serve.name") {
        auto s = get_string(v, source, name);
        if (!s) return std::move(s).err();
        out.values.name = std::move(*s);
      } else if (name == "serve.idle_timeout") {
        auto s = get_seconds(v, source, name);
        if (!s) return std::move(s).err();
        out.values.idle_timeout_s = *s;
      } else if (name == "serve.bwlimit") {
        auto r = get_rate(v, source, name);
        if (!r) return std::move(r).err();
        out.values.serve_bwlimit = *r;
      } else if (name == "serve.max_sessions") {
        auto n = get_session_count(v, source, name);
        if (!n) return std::move(n).err();
        out.values.max_sessions = *n;
      } else if (name == "client.connect_timeout") {
        auto s = get_seconds(v, source, name);
        if (!s) return std::move(s).err();
        out.values.connect_timeout_s = *s;
      } else if (name == "client.bwlimit") {
        auto r = get_rate(v, source, name);
        if (!r) return std::move(r).err();
        out.values.client_bwlimit = *r;
      } else {
        out.warnings.push_back(where(source, k.source()) + ": unknown key '" + escape_for_log(name) +
                               "' (ignored)");
      }
    }
  }
  return out;
}

result<config_contents> load_config(const std::filesystem::path& file, bool must_exist) {
  const std::string shown = escape_for_log(file.string());
  // One stat (following a symlink: its target is what gets read) answers
  // existence, type, ownership, mode and size.
  struct stat st {};
  if (::stat(file.c_str(), &st) != 0) {
    if (errno == ENOENT && !must_exist) return config_contents{};
    return make_error(errc::not_found, "cannot read config file " + shown + ": " + std::strerror(errno));
  }
  if (!S_ISREG(st.st_mode))
    return make_error(errc::invalid_argument, "config file " + shown + " is not a regular file");
  // The config names the served root and who may listen where: anyone who
  // can rewrite it can serve /etc. Same rule as ssh for ~/.ssh/config
  // (research/security.md E2); reading it may be open to all, as is usual.
  if (st.st_uid != ::geteuid() && st.st_uid != 0)
    return make_error(errc::unsafe_permissions, "config file " + shown + " is not owned by the current user");
  if ((st.st_mode & 022) != 0)
    return make_error(errc::unsafe_permissions, "config file " + shown + " has mode " + octal_mode(st.st_mode) +
                                                    " (writable by others); fix it with chmod 600 " + shown);
  if (static_cast<std::uint64_t>(st.st_size) > k_max_config_bytes)
    return make_error(errc::invalid_argument, "config file " + shown + " is larger than 1 MiB");
  std::ifstream in(file, std::ios::binary);
  if (!in) return make_error(errc::io, "cannot open config file " + shown + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return make_error(errc::io, "cannot read config file " + shown);
  return parse_config(text.str(), file.string());
}

result<settings> settings_from_env(const env_lookup& env) {
  settings s;
  auto text = [&](const char* name) -> std::optional<std::string> {
    auto v = env(name);
    if (!v || v->empty()) return std::nullopt;
    return v;
  };
  s.listen = text("FTSYNC_LISTEN");
  s.root = text("FTSYNC_ROOT");
  s.name = text("FTSYNC_NAME");
  for (auto [name, slot] : {std::pair{"FTSYNC_IDLE_TIMEOUT", &s.idle_timeout_s},
                            std::pair{"FTSYNC_CONNECT_TIMEOUT", &s.connect_timeout_s}}) {
    if (auto v = text(name)) {
      auto secs = parse_seconds(*v);
      if (!secs) return make_error(errc::invalid_argument, std::string(name) + ": " + secs.err().message);
      *slot = *secs;
    }
  }
  for (auto [name, slot] : {std::pair{"FTSYNC_BWLIMIT", &s.client_bwlimit},
                            std::pair{"FTSYNC_SERVE_BWLIMIT", &s.serve_bwlimit}}) {
    if (auto v = text(name)) {
      auto rate = parse_rate(*v);
      if (!rate) return make_error(errc::invalid_argument, std::string(name) + ": " + rate.err().message);
      *slot = *rate;
    }
  }
  if (auto v = text("FTSYNC_MAX_SESSIONS")) {
    auto n = parse_session_count(*v);
    if (!n) return make_error(errc::invalid_argument, "FTSYNC_MAX_SESSIONS: " + n.err().message);
    s.max_sessions = *n;
  }
  return s;
}

settings overlay(settings lower, const settings& higher) {
  for (const auto& [name, pair] : higher.sync_pairs) lower.sync_pairs[name] = pair;
  if (higher.listen) lower.listen = higher.listen;
  if (higher.root) lower.root = higher.root;
  if (higher.name) lower.name = higher.name;
  if (higher.idle_timeout_s) lower.idle_timeout_s = higher.idle_timeout_s;
  if (higher.connect_timeout_s) lower.connect_timeout_s = higher.connect_timeout_s;
  if (higher.serve_bwlimit) lower.serve_bwlimit = higher.serve_bwlimit;
  if (higher.client_bwlimit) lower.client_bwlimit = higher.client_bwlimit;
  if (higher.max_sessions) lower.max_sessions = higher.max_sessions;
  return lower;
}

}  // namespace ftsync::cli
