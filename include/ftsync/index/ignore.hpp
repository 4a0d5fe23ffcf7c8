#pragma once
// .ftsyncignore: which paths of a synced folder are not synced, in the
// syntax of .gitignore (gitignore(5)), so users need learn nothing new:
//   - blank lines and lines starting with '#' are skipped; "\#" and "\!"
//     escape a leading '#' or '!'; trailing spaces are dropped;
//   - "!pattern" re-includes what an earlier pattern excluded; the last
//     matching pattern wins; nothing beneath an excluded directory can be
//     re-included (git cannot either: it never lists that directory);
//   - "pattern/" matches directories only;
//   - a pattern with a '/' at its start or middle is anchored at the folder
//     root ("/build" or "doc/*.txt"); otherwise it matches a name at any depth;
//   - '*' and '?' never match '/', "[a-z]" is a class, "**/" matches any
//     number of leading directories, "/**" everything inside, "a/**/b" zero
//     or more directories in between.
// The file itself (a reserved ".ftsync" name) is local to each node, like
// Syncthing's .stignore, and ftsync's own temp and state files are never
// synced whatever it says: rel_path refuses their names.
#include <ftsync/util/rel_path.hpp>

#include <string>
#include <string_view>
#include <vector>

namespace ftsync::index {

class ignore_matcher {
 public:
  ignore_matcher() = default;  // ignores nothing
  static ignore_matcher parse(std::string_view text);

  // True when `path` (is_dir: a directory) is not synced: it matches, or a
  // directory above it does.
  bool ignored(const rel_path& path, bool is_dir) const;
  // Only the path's own match, ancestors not considered (for a walker that
  // does not descend into ignored directories).
  bool ignored_here(const rel_path& path, bool is_dir) const;
  bool empty() const noexcept { return m_rules.empty(); }

 private:
  struct rule {
    std::vector<std::string> segments;  // pattern split at '/'
    bool negate = false;
    bool dir_only = false;
    bool anchored = false;
  };
  // 1: excluded, -1: re-included, 0: no rule matched.
  int verdict(const std::vector<std::string_view>& comps, bool is_dir) const;
  std::vector<rule> m_rules;
};

}  // namespace ftsync::index
