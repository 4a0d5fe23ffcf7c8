#include <ftsync/sync/planner.hpp>

#include <algorithm>
#include <set>

namespace ftsync::sync {
namespace {

using index::entry_kind;
using index::file_entry;
using index::ordering;

bool live_file(const std::optional<file_entry>& e) {
  return e && !e->deleted && e->kind == entry_kind::file;
}

std::optional<action> decide(const rel_path& path, const std::optional<file_entry>& l,
                             const std::optional<file_entry>& r) {
  action a;
  a.path = path;
  a.local = l;
  a.remote = r;
  if (!r) {
    if (!l || l->deleted) return std::nullopt;
    a.kind = action_kind::push;
    return a;
  }
  if (!l) {
    a.kind = action_kind::pull;
    return a;
  }
  switch (l->version.compare(r->version)) {
    case ordering::equal:
      return std::nullopt;
    case ordering::descendant:
      a.kind = action_kind::push;
      return a;
    case ordering::ancestor:
      a.kind = action_kind::pull;
      return a;
    case ordering::concurrent:
      break;
  }
  if (l->same_data(*r)) {
    a.kind = action_kind::merge;
    return a;
  }
  if (l->deleted) {  // deleted here, changed there: keep the change
    a.kind = action_kind::pull;
    a.merge_versions = true;
    return a;
  }
  if (r->deleted) {
    a.kind = action_kind::push;
    a.merge_versions = true;
    return a;
  }
  if (l->kind != r->kind) {
    // A directory on one side, a file on the other: the directory (which may
    // hold many files) keeps the name; the file becomes the conflict copy.
    a.kind = action_kind::conflict;
    a.remote_wins = r->kind == entry_kind::directory;
    return a;
  }
  a.kind = action_kind::conflict;
  a.remote_wins = r->mtime_ns > l->mtime_ns || (r->mtime_ns == l->mtime_ns && r->hash > l->hash);
  return a;
}

int phase_of(const action& a) {
  const file_entry* win = nullptr;
  switch (a.kind) {
    case action_kind::pull: win = a.remote ? &*a.remote : nullptr; break;
    case action_kind::push:
    case action_kind::merge: win = a.local ? &*a.local : nullptr; break;
    case action_kind::conflict: return 1;
  }
  if (win == nullptr) return 1;
  if (win->deleted) return win->kind == entry_kind::directory ? 3 : 2;
  if (win->kind == entry_kind::directory) return 0;
  // A file that takes the place of a live directory on the receiving side
  // goes last: the deletions beneath the directory must empty it first.
  const auto& lose = a.kind == action_kind::pull ? a.local : a.remote;
  if (lose && !lose->deleted && lose->kind == entry_kind::directory) return 4;
  return 1;
}

}  // namespace

std::vector<action> plan(const entry_map& local, const entry_map& remote, const index::ignore_matcher& ignore) {
  std::set<rel_path> paths;
  for (const auto& [p, e] : local) paths.insert(p);
  for (const auto& [p, e] : remote) paths.insert(p);
  std::vector<action> out;
  for (const auto& p : paths) {
    auto li = local.find(p);
    auto ri = remote.find(p);
    std::optional<file_entry> l, r;
    if (li != local.end()) l = li->second;
    if (ri != remote.end()) r = ri->second;
    const bool dir = (l && l->kind == entry_kind::directory) || (r && r->kind == entry_kind::directory);
    if (ignore.ignored(p, dir)) continue;
    if (auto a = decide(p, l, r)) out.push_back(std::move(*a));
  }

  // Renames: a new file on the giving side whose content is that of a file
  // the same side deleted (and the receiving side still has unchanged).
  std::multimap<crypto::digest, std::size_t> pulled_away, pushed_away;
  for (std::size_t i = 0; i < out.size(); ++i) {
    const auto& a = out[i];
    if (a.kind == action_kind::pull && a.remote && a.remote->deleted && live_file(a.local))
      pulled_away.emplace(a.local->hash, i);
    if (a.kind == action_kind::push && a.local && a.local->deleted && live_file(a.remote))
      pushed_away.emplace(a.remote->hash, i);
  }
  for (auto& a : out) {
    if (a.merge_versions) continue;
    if (a.kind == action_kind::pull && live_file(a.remote) && !live_file(a.local)) {
      auto it = pulled_away.find(a.remote->hash);
      if (it != pulled_away.end()) {
        a.rename_from = out[it->second].path;
        pulled_away.erase(it);
      }
    } else if (a.kind == action_kind::push && live_file(a.local) && !live_file(a.remote)) {
      auto it = pushed_away.find(a.local->hash);
      if (it != pushed_away.end()) {
        a.rename_from = out[it->second].path;
        pushed_away.erase(it);
      }
    }
  }
  order_for_execution(out);
  return out;
}

void order_for_execution(std::vector<action>& actions) {
  std::stable_sort(actions.begin(), actions.end(), [](const action& x, const action& y) {
    const int px = phase_of(x), py = phase_of(y);
    if (px != py) return px < py;
    if (px == 1) {
      const bool rx = x.rename_from.has_value(), ry = y.rename_from.has_value();
      if (rx != ry) return rx;
    }
    if (px == 3) return y.path < x.path;  // children first
    return x.path < y.path;
  });
}

}  // namespace ftsync::sync
