#include <ftsync/index/ignore.hpp>

#include <fnmatch.h>

namespace ftsync::index {
namespace {

std::vector<std::string> split(std::string_view s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    const auto slash = s.find('/', start);
    out.emplace_back(s.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

bool match_one(const std::string& pattern, std::string_view name) {
  // fnmatch(3) handles '*', '?', '[...]' and backslash escapes within one
  // component; FNM_PERIOD is not set (gitignore's '*' matches dot files).
  const std::string n(name);
  return ::fnmatch(pattern.c_str(), n.c_str(), 0) == 0;
}

// Segments `p[pi..]` against components `c[ci..]`; "**" matches zero or more.
bool match_segments(const std::vector<std::string>& p, std::size_t pi,
                    const std::vector<std::string_view>& c, std::size_t ci) {
  while (pi < p.size()) {
    if (p[pi] == "**") {
      if (pi + 1 == p.size()) return ci < c.size();  // "a/**": something inside a
      for (std::size_t k = ci; k <= c.size(); ++k)
        if (match_segments(p, pi + 1, c, k)) return true;
      return false;
    }
    if (ci >= c.size() || !match_one(p[pi], c[ci])) return false;
    ++pi;
    ++ci;
  }
  return ci == c.size();
}

}  // namespace

ignore_matcher ignore_matcher::parse(std::string_view text) {
  ignore_matcher m;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    auto nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string line(text.substr(pos, nl - pos));
    pos = nl + 1;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    // Trailing spaces are dropped unless escaped with a backslash.
    while (!line.empty() && line.back() == ' ' && !(line.size() >= 2 && line[line.size() - 2] == '\\'))
      line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    rule r;
    if (line[0] == '!') {
      r.negate = true;
      line.erase(0, 1);
    } else if (line[0] == '\\' && line.size() > 1 && (line[1] == '#' || line[1] == '!')) {
      line.erase(0, 1);
    }
    if (!line.empty() && line.back() == '/') {
      r.dir_only = true;
      while (!line.empty() && line.back() == '/') line.pop_back();
    }
    if (line.empty()) continue;
    // A slash at the start or in the middle anchors the pattern at the root.
    if (line.find('/') != std::string::npos) r.anchored = true;
    while (!line.empty() && line[0] == '/') line.erase(0, 1);
    if (line.empty()) continue;
    r.segments = split(line);
    if (r.segments.size() > 1 && r.segments[0] == "**") r.anchored = true;  // "**/x" = any depth anyway
    m.m_rules.push_back(std::move(r));
  }
  return m;
}

int ignore_matcher::verdict(const std::vector<std::string_view>& comps, bool is_dir) const {
  for (auto it = m_rules.rbegin(); it != m_rules.rend(); ++it) {
    const rule& r = *it;
    if (r.dir_only && !is_dir) continue;
    bool hit = false;
    if (r.anchored)
      hit = match_segments(r.segments, 0, comps, 0);
    else
      hit = !comps.empty() && match_one(r.segments[0], comps.back());
    if (hit) return r.negate ? -1 : 1;
  }
  return 0;
}

bool ignore_matcher::ignored_here(const rel_path& path, bool is_dir) const {
  if (m_rules.empty() || path.is_root()) return false;
  return verdict(path.components(), is_dir) > 0;
}

bool ignore_matcher::ignored(const rel_path& path, bool is_dir) const {
  if (m_rules.empty() || path.is_root()) return false;
  const auto comps = path.components();
  std::vector<std::string_view> prefix;
  for (std::size_t i = 0; i + 1 < comps.size(); ++i) {
    prefix.push_back(comps[i]);
    if (verdict(prefix, true) > 0) return true;
  }
  return verdict(comps, is_dir) > 0;
}

}  // namespace ftsync::index
