#pragma once
// Private to sync/: index entries <-> wire records, and request plumbing.
#include <ftsync/index/entry.hpp>
#include <ftsync/util/limits.hpp>
#include <ftsync/wire/messages.hpp>

#include <vector>

namespace ftsync::sync {

inline std::vector<wire::version_item> to_wire(const index::version_vector& v) {
  std::vector<wire::version_item> out;
  for (const auto& [d, c] : v.items()) out.push_back(wire::version_item{d, c});
  return out;
}

inline index::version_vector from_wire(const std::vector<wire::version_item>& items) {
  std::vector<index::version_vector::item> v;
  for (const auto& i : items) v.emplace_back(i.device, i.counter);
  return index::version_vector::from_items(std::move(v));
}

inline wire::file_record to_wire(const index::file_entry& e) {
  wire::file_record r;
  r.path = e.path.str();
  switch (e.kind) {
    case index::entry_kind::file: r.kind = wire::entry_kind::file; break;
    case index::entry_kind::directory: r.kind = wire::entry_kind::directory; break;
    case index::entry_kind::symlink: r.kind = wire::entry_kind::symlink; break;
  }
  r.deleted = e.deleted;
  r.size = e.size;
  r.mtime_ns = e.mtime_ns;
  r.mode = e.mode & 07777;
  r.hash = e.hash;
  r.version = to_wire(e.version);
  r.sequence = e.sequence;
  if (!e.deleted) r.target = e.target;
  return r;
}

// Peer input: the path is parsed strictly; only files, directories and
// symlinks (whose target must be non-empty, shorter than PATH_MAX
// (limits::max_path_bytes) and free of NUL, as symlink(2) needs; its hash is
// recomputed here, never trusted); mode bits beyond
// 0777 dropped (no setuid from a peer).
inline result<index::file_entry> from_wire(const wire::file_record& r) {
  auto p = rel_path::parse(r.path);
  if (!p) return std::move(p).err();
  if (p->is_root()) return make_error(errc::bad_path, "a record names the folder root");
  index::file_entry e;
  switch (r.kind) {
    case wire::entry_kind::file: e.kind = index::entry_kind::file; break;
    case wire::entry_kind::directory: e.kind = index::entry_kind::directory; break;
    case wire::entry_kind::symlink: e.kind = index::entry_kind::symlink; break;
    default: return make_error(errc::malformed, "a record is not a file, directory or symlink");
  }
  const bool link = e.kind == index::entry_kind::symlink && !r.deleted;
  if (link && (r.target.empty() || r.target.size() >= limits::max_path_bytes || r.target.find('\0') != std::string::npos))
    return make_error(errc::malformed, "a symlink record has an empty, overlong or NUL-holding target");
  if (!link && !r.target.empty()) return make_error(errc::malformed, "a record that is no symlink has a target");
  e.path = *p;
  e.deleted = r.deleted;
  e.size = r.deleted || e.kind == index::entry_kind::directory ? 0 : r.size;
  if (link) e.target = r.target, e.size = r.target.size();
  e.mtime_ns = r.mtime_ns;
  e.mode = r.mode & 0777;
  e.hash = link ? crypto::hash_block(as_bytes(e.target)) : r.hash;
  e.version = from_wire(r.version);
  e.sequence = r.sequence;
  return e;
}

inline wire::chunk_ref to_wire(const index::chunk& c) { return wire::chunk_ref{c.offset, c.size, c.hash}; }
inline index::chunk from_wire(const wire::chunk_ref& c) { return index::chunk{c.offset, c.size, c.hash}; }

}  // namespace ftsync::sync
