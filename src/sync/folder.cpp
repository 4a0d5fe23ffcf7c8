#include <ftsync/sync/folder.hpp>

#include <ftsync/crypto/hash.hpp>

#include <algorithm>
#include <system_error>

namespace ftsync::sync {

std::filesystem::path index_file_for(const std::filesystem::path& state_dir,
                                     const std::filesystem::path& dir) {
  std::error_code ec;
  auto abs = std::filesystem::weakly_canonical(std::filesystem::absolute(dir, ec), ec);
  if (ec) abs = std::filesystem::absolute(dir, ec);
  const std::string text = abs.lexically_normal().string();
  const auto h = crypto::hash_block(as_bytes(text));
  return state_dir / "index" / (to_hex(byte_view(h.data(), 8)) + ".db");
}

result<std::unique_ptr<folder>> folder::open(const std::filesystem::path& dir,
                                             const std::filesystem::path& db_file, index::device_id me,
                                             bool create) {
  auto r = create ? store::root::open_or_create(dir) : store::root::open(dir);
  if (!r) return std::move(r).err();
  std::error_code ec;
  std::filesystem::create_directories(db_file.parent_path(), ec);
  if (ec)
    return make_error(errc::io, "cannot create " + db_file.parent_path().string() + ": " + ec.message());
  auto db = index::database::open(db_file);
  if (!db) return std::move(db).err();
  std::unique_ptr<folder> f(new folder(std::move(*r), std::move(*db), me));
  FTSYNC_TRY(f->reload_ignore());
  return f;
}

status folder::reload_ignore() {
  auto text = index::read_ignore_file(m_root);
  if (!text) return std::move(text).err();
  if (*text == m_ignore_text && m_ignore_generation != 0) return {};
  m_ignore = index::ignore_matcher::parse(*text);
  m_ignore_text = std::move(*text);
  ++m_ignore_generation;
  return {};
}

result<index::scan_stats> folder::rescan(const keep_alive_fn& keep_alive) {
  FTSYNC_TRY(reload_ignore());
  index::scan_options o;
  o.me = m_me;
  o.keep_alive = keep_alive;
  auto st = index::scan(m_root, m_db, m_ignore, o);
  if (!st) return std::move(st).err();
  m_last = *st;
  return st;
}

result<index::scan_stats> folder::rescan_paths(std::vector<rel_path> changed, const keep_alive_fn& keep_alive) {
  // The watcher names the root for a change of .ftsyncignore: new rules
  // can hide or reveal any path, so they are re-read and everything rescanned.
  if (std::any_of(changed.begin(), changed.end(), [](const rel_path& p) { return p.is_root(); }))
    return rescan(keep_alive);
  index::scan_options o;
  o.me = m_me;
  o.keep_alive = keep_alive;
  auto st = index::scan_paths(m_root, m_db, m_ignore, o, std::move(changed));
  if (!st) return std::move(st).err();
  m_last = *st;
  return st;
}

bool folder::has_other_links(const rel_path& path) const {
  auto st = m_root.stat(path);
  return st && st->kind == store::file_kind::regular && st->links > 1;
}

bool folder::disk_matches(const index::file_entry& e) {
  auto st = m_root.stat(e.path);
  if (!st) return e.deleted && st.code() == errc::not_found;
  if (e.deleted) return false;
  if (e.kind == index::entry_kind::directory) return st->kind == store::file_kind::directory;
  if (e.kind == index::entry_kind::symlink) {
    if (st->kind != store::file_kind::symlink || st->inode != e.inode) return false;
    auto target = m_root.read_link(e.path);
    return target && *target == e.target;
  }
  return st->kind == store::file_kind::regular && st->size == e.size && st->mtime_ns == e.mtime_ns &&
         st->inode == e.inode;
}

}  // namespace ftsync::sync
