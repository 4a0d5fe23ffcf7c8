#include <ftsync/index/scanner.hpp>

#include <ftsync/store/chunker.hpp>
#include <ftsync/util/clock.hpp>
#include <ftsync/util/log.hpp>

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>

namespace ftsync::index {
namespace {

// .ftsyncignore larger than this is refused: 1 MiB is ~30k patterns.
constexpr std::size_t k_max_ignore_bytes = 1 << 20;
// Writes are committed in batches: one transaction per change would cost an
// fsync each; one for a whole first scan would hold the write lock (and the
// other process of this node) for minutes.
constexpr std::size_t k_batch_entries = 256;

std::uint64_t now_seconds(const scan_options& o) {
  if (o.now_s != 0) return o.now_s;
  return static_cast<std::uint64_t>(wall_now_ns() / 1'000'000'000);
}

struct pending {
  file_entry entry;
  std::optional<std::vector<chunk>> chunks;
  bool stat_only = false;
};

class batch {
 public:
  explicit batch(database& db) : m_db(db) {}
  status add(pending p) {
    m_items.push_back(std::move(p));
    if (m_items.size() >= k_batch_entries) return flush();
    return {};
  }
  status flush() {
    if (m_items.empty()) return {};
    FTSYNC_TRY(m_db.begin());
    for (auto& p : m_items) {
      status st = p.stat_only ? m_db.update_stat(p.entry) : m_db.put(p.entry, p.chunks ? &*p.chunks : nullptr);
      if (!st) {
        m_db.rollback();
        return st;
      }
    }
    auto c = m_db.commit();
    if (!c) {
      m_db.rollback();
      return c;
    }
    m_items.clear();
    return {};
  }

 private:
  database& m_db;
  std::vector<pending> m_items;
};

struct walker {
  const store::root& root;
  const ignore_matcher& ignore;
  const scan_options& opts;
  std::map<std::string, file_entry>& known;  // by path; erased as seen
  batch& out;
  scan_stats& stats;
  keep_alive_timer timer;
  std::vector<rel_path> failed_dirs;

  bool changed_stat(const file_entry& e, const store::file_info& i) const {
    return e.deleted || e.kind != entry_kind::file || e.size != i.size || e.mtime_ns != i.mtime_ns ||
           e.inode != i.inode || e.ctime_ns != i.ctime_ns;
  }

  // The index's entry for `path`, taken out of `known` (what is left there
  // at the end was not seen).
  std::optional<file_entry> take_known(const rel_path& path) {
    auto it = known.find(path.str());
    if (it == known.end()) return std::nullopt;
    std::optional<file_entry> old = std::move(it->second);
    known.erase(it);
    return old;
  }

  static file_entry entry_from(const rel_path& path, entry_kind kind, const store::file_info& info) {
    file_entry e;
    e.path = path;
    e.kind = kind;
    e.size = kind == entry_kind::directory ? 0 : info.size;
    e.mtime_ns = info.mtime_ns;
    e.mode = info.mode;
    e.inode = info.inode;
    e.ctime_ns = info.ctime_ns;
    return e;
  }

  // A path that could not be read now (gone meanwhile, unreadable): skipped,
  // and the index keeps what it had.
  status skip_unreadable(error e, const rel_path& path, std::optional<file_entry>& old,
                         std::initializer_list<errc> skippable) {
    if (std::find(skippable.begin(), skippable.end(), e.code) == skippable.end()) return e;
    ++stats.skipped;
    if (old) known.emplace(path.str(), std::move(*old));
    return {};
  }

  // Records `e` as read now: the old version when nothing that syncs
  // changed (only the stat fields that detect changes are updated), a new
  // one otherwise.
  status record(file_entry e, const std::optional<file_entry>& old, std::optional<std::vector<chunk>> chunks) {
    if (old) {
      e.version = old->version;
      if (old->same_state(e)) {
        e.sequence = old->sequence;
        return out.add(pending{std::move(e), std::nullopt, true});
      }
    }
    e.version.bump(opts.me, now_seconds(opts));
    ++stats.changed;
    return out.add(pending{std::move(e), std::move(chunks), false});
  }

  status on_file(const rel_path& path, const store::file_info& info) {
    ++stats.files;
    auto old = take_known(path);
    if (old && !changed_stat(*old, info) && (old->mode & 07777) == (info.mode & 07777)) return {};
    if (old && !changed_stat(*old, info)) {
      // Only the mode changed (chmod updates ctime too, so this is rare:
      // ctime equal means the stat fields are equal).
      file_entry e = *old;
      e.mode = info.mode;
      e.version.bump(opts.me, now_seconds(opts));
      ++stats.changed;
      return out.add(pending{std::move(e), std::nullopt, false});
    }
    auto h = hash_file(root, path, opts.keep_alive);
    if (!h) return skip_unreadable(std::move(h).err(), path, old,
                                   {errc::not_found, errc::not_regular_file, errc::permission_denied});
    ++stats.hashed_files;
    stats.hashed_bytes += h->info.size;
    file_entry e = entry_from(path, entry_kind::file, h->info);
    e.hash = h->hash;
    // Touched (ctime) but the same content, mode and mtime: no new version.
    return record(std::move(e), old, std::move(h->chunks));
  }

  // A symlink is its target text: read (never followed) when its inode or
  // ctime moved, which any re-creation or retarget changes.
  status on_link(const rel_path& path, const store::file_info& info) {
    ++stats.files;
    auto old = take_known(path);
    if (old && !old->deleted && old->kind == entry_kind::symlink && old->inode == info.inode &&
        old->ctime_ns == info.ctime_ns)
      return {};
    auto target = root.read_link(path);
    if (!target)
      return skip_unreadable(std::move(target).err(), path, old,
                             {errc::not_found, errc::not_regular_file, errc::permission_denied, errc::too_large});
    file_entry e = entry_from(path, entry_kind::symlink, info);
    e.size = target->size();
    e.hash = crypto::hash_block(as_bytes(*target));
    e.target = std::move(*target);
    // Re-created with the same target: no new version.
    return record(std::move(e), old, std::nullopt);
  }

  status on_dir(const rel_path& path, const store::file_info& info) {
    ++stats.dirs;
    auto old = take_known(path);
    if (old && !old->deleted && old->kind == entry_kind::directory && (old->mode & 07777) == (info.mode & 07777))
      return {};
    file_entry e = entry_from(path, entry_kind::directory, info);
    if (old) e.version = old->version;
    e.version.bump(opts.me, now_seconds(opts));
    ++stats.changed;
    return out.add(pending{std::move(e), std::nullopt, false});
  }

  status on_entry(const rel_path& path, const store::file_info& info, int depth) {
    switch (info.kind) {
      case store::file_kind::directory:
        FTSYNC_TRY(on_dir(path, info));
        return walk(path, depth + 1);
      case store::file_kind::symlink: return on_link(path, info);
      case store::file_kind::regular: return on_file(path, info);
      case store::file_kind::other: break;
    }
    return {};
  }

  status walk(const rel_path& dir, int depth) {
    if (depth > 256) return {};
    auto list = root.list(dir);
    if (!list) {
      if (list.code() == errc::not_found || list.code() == errc::not_a_directory ||
          list.code() == errc::path_escapes_root || list.code() == errc::permission_denied) {
        log::debug("scan: cannot list '" + escape_for_log(dir.str()) + "': " + list.err().message);
        failed_dirs.push_back(dir);
        return {};
      }
      return std::move(list).err();
    }
    for (const auto& info : *list) {
      timer.tick();
      auto child = dir.join(info.name);
      if (!child) continue;
      const bool is_dir = info.kind == store::file_kind::directory;
      if (info.kind == store::file_kind::other) {
        ++stats.skipped;  // devices, FIFOs and sockets are not synced
        continue;
      }
      if (ignore.ignored_here(*child, is_dir)) continue;
      FTSYNC_TRY(on_entry(*child, info, depth));
    }
    return {};
  }
};

}  // namespace

result<hashed_file> hash_file(const store::root& root, const rel_path& path, const keep_alive_fn& keep_alive) {
  keep_alive_timer timer(keep_alive);
  auto r = root.open_read(path);
  if (!r) return std::move(r).err();
  hashed_file out;
  out.info = r->info();
  // A 1 MiB buffer holds several maximal chunks, so the chunker always sees
  // chunk_max bytes (or the true end of file) without a copy per chunk.
  bytes buf(1 << 20);
  std::size_t have = 0, pos = 0;
  std::uint64_t file_off = 0;  // file offset of buf[have]
  std::uint64_t chunk_off = 0;
  bool eof = false;
  crypto::file_hasher fh;
  while (true) {
    if (!eof && have - pos < store::chunk_max) {
      timer.tick();
      std::memmove(buf.data(), buf.data() + pos, have - pos);
      have -= pos;
      pos = 0;
      auto got = r->read_at(file_off, std::span<byte>(buf.data() + have, buf.size() - have));
      if (!got) return std::move(got).err();
      if (*got < buf.size() - have) eof = true;
      have += *got;
      file_off += *got;
    }
    if (pos == have) break;
    const std::size_t window = std::min(store::chunk_max, have - pos);
    const std::size_t len = store::next_cut(byte_view(buf.data() + pos, window));
    chunk c;
    c.offset = chunk_off;
    c.size = static_cast<std::uint32_t>(len);
    c.hash = crypto::hash_block(byte_view(buf.data() + pos, len));
    fh.add_block(c.hash);
    out.chunks.push_back(c);
    pos += len;
    chunk_off += len;
  }
  // The size actually read wins over the size at open: a file that grew or
  // shrank meanwhile is indexed as read, and the next scan sees its new stat.
  out.info.size = chunk_off;
  out.hash = fh.finish(chunk_off);
  return out;
}

result<std::string> read_ignore_file(const store::root& root) {
  auto text = root.read_reserved(".ftsyncignore", k_max_ignore_bytes);
  if (!text && text.code() == errc::not_found) return std::string{};
  return text;
}

result<ignore_matcher> load_ignore(const store::root& root) {
  auto text = read_ignore_file(root);
  if (!text) return std::move(text).err();
  return ignore_matcher::parse(*text);
}

namespace {

void add_by_path(std::map<std::string, file_entry>& known, std::vector<file_entry> entries) {
  for (auto& e : entries) {
    std::string key = e.path.str();
    known.emplace(std::move(key), std::move(e));
  }
}

// What is left in `known` was not seen: deleted, unless already a
// tombstone, now ignored, or beneath a directory that could not be listed.
status tombstone_unseen(walker& w) {
  for (auto& [key, e] : w.known) {
    if (e.deleted) continue;
    if (w.ignore.ignored(e.path, e.kind == entry_kind::directory)) continue;
    bool unsure = false;
    for (const auto& d : w.failed_dirs) unsure = unsure || e.path.starts_with(d);
    if (unsure) continue;
    e.deleted = true;
    e.size = 0;
    e.hash = {};
    e.inode = 0;
    e.ctime_ns = 0;
    e.version.bump(w.opts.me, now_seconds(w.opts));
    ++w.stats.deleted;
    FTSYNC_TRY(w.out.add(pending{std::move(e), std::nullopt, false}));
  }
  w.known.clear();
  return {};
}

// The paths to rescan, without any that lie beneath another one, each
// widened to its nearest ancestor the index knows as a live directory (a
// change inside a directory the index has not seen yet, say created and
// filled before its watch was added, must bring the directory in too).
result<std::vector<rel_path>> scan_roots(database& db, std::vector<rel_path> paths) {
  for (auto& p : paths) {
    while (!p.is_root() && !p.parent().is_root()) {
      auto parent = db.get(p.parent());
      if (!parent) return std::move(parent).err();
      if (*parent && !(*parent)->deleted && (*parent)->kind == entry_kind::directory) break;
      p = p.parent();
    }
  }
  std::sort(paths.begin(), paths.end(), [](const rel_path& a, const rel_path& b) { return a.str() < b.str(); });
  std::vector<rel_path> out;
  for (auto& p : paths) {
    if (!out.empty() && p.starts_with(out.back())) continue;  // equal, or beneath it
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace

result<scan_stats> scan(const store::root& root, database& db, const ignore_matcher& ignore,
                        const scan_options& opts) {
  auto all = db.all();
  if (!all) return std::move(all).err();
  std::map<std::string, file_entry> known;
  add_by_path(known, std::move(*all));
  scan_stats stats;
  batch out(db);
  walker w{root, ignore, opts, known, out, stats, keep_alive_timer(opts.keep_alive), {}};
  FTSYNC_TRY(w.walk(rel_path{}, 0));
  FTSYNC_TRY(tombstone_unseen(w));
  FTSYNC_TRY(out.flush());
  return stats;
}

result<scan_stats> scan_paths(const store::root& root, database& db, const ignore_matcher& ignore,
                              const scan_options& opts, std::vector<rel_path> paths) {
  auto roots = scan_roots(db, std::move(paths));
  if (!roots) return std::move(roots).err();
  if (!roots->empty() && roots->front().is_root()) return scan(root, db, ignore, opts);
  std::map<std::string, file_entry> known;
  scan_stats stats;
  batch out(db);
  walker w{root, ignore, opts, known, out, stats, keep_alive_timer(opts.keep_alive), {}};
  for (const auto& p : *roots) {
    auto st = root.stat(p);
    // Unreadable now (not merely gone): the index keeps what it had there.
    if (!st && st.code() != errc::not_found && st.code() != errc::not_a_directory) continue;
    // Everything the index has at and beneath p is seen again below or
    // becomes a tombstone: gone, now a special file, a file where
    // a directory was, or an entry of a directory that is gone.
    auto self = db.get(p);
    if (!self) return std::move(self).err();
    if (*self) known.emplace(p.str(), std::move(**self));
    auto below = db.under(p);
    if (!below) return std::move(below).err();
    add_by_path(known, std::move(*below));
    const bool is_dir = st && st->kind == store::file_kind::directory;
    if (st && !ignore.ignored(p, is_dir)) FTSYNC_TRY(w.on_entry(p, *st, 0));
    FTSYNC_TRY(tombstone_unseen(w));
  }
  FTSYNC_TRY(out.flush());
  return stats;
}

}  // namespace ftsync::index
