#include "sync/file_builder.hpp"

#include <ftsync/store/chunker.hpp>
#include <ftsync/util/log.hpp>

namespace ftsync::sync {

namespace {
// Places tried per chunk for local reuse: enough for renamed and copied
// files, bounded so a chunk repeated in 10,000 files costs 4 lookups.
constexpr std::size_t k_reuse_candidates = 4;
}  // namespace

// The target must still be what the plan saw: a local edit since the scan
// is never overwritten (the next round sees it and decides).
status file_builder::check_unchanged(folder& f, const rel_path& target,
                                     const std::optional<index::file_entry>& expect) {
  if (expect && !expect->deleted && expect->kind != index::entry_kind::directory) {
    if (!f.disk_matches(*expect))
      return make_error(errc::already_exists, "'" + target.str() + "' changed locally during the sync");
    return {};
  }
  auto st = f.root().stat(target);
  if (st || st.code() != errc::not_found)
    return make_error(errc::already_exists, "'" + target.str() + "' appeared locally during the sync");
  return {};
}

status file_builder::place_symlink(folder& f, const rel_path& target, const index::file_entry& want,
                                   const std::optional<index::file_entry>& expect) {
  FTSYNC_TRY(make_way(f, target, expect));
  if (!target.parent().is_root()) FTSYNC_TRY(f.root().make_dir(target.parent(), true));
  FTSYNC_TRY(check_unchanged(f, target, expect));
  FTSYNC_TRY(f.root().make_symlink(target, want.target));
  index::file_entry e = want;
  e.path = target;
  e.deleted = false;
  e.kind = index::entry_kind::symlink;
  if (auto st = f.root().stat(target)) {
    e.inode = st->inode;
    e.ctime_ns = st->ctime_ns;
  }
  return f.db().put(e);
}

result<file_builder> file_builder::open(folder& f, const rel_path& target, const index::file_entry& want) {
  if (!target.parent().is_root()) FTSYNC_TRY(f.root().make_dir(target.parent(), true));
  auto p = f.root().open_partial(target);
  if (!p) return std::move(p).err();
  file_builder b(f, target, want, std::move(*p));
  b.m_partial_size = b.m_partial.existing_size();
  return b;
}

status file_builder::make_way(folder& f, const rel_path& target, const std::optional<index::file_entry>& expect) {
  if (!expect || expect->deleted || expect->kind != index::entry_kind::directory) return {};
  auto st = f.root().stat(target);
  if (!st) return st.code() == errc::not_found ? status{} : status{std::move(st).err()};
  if (st->kind != store::file_kind::directory) return {};  // commit's check decides
  auto rm = f.root().remove_dir(target);
  if (!rm && rm.code() != errc::not_found) return rm;
  return {};
}

bool file_builder::try_local(const index::chunk& c) {
  m_buf.resize(c.size);
  // 1. A partial file from an interrupted run already holds it.
  if (c.offset + c.size <= m_partial_size) {
    auto got = m_partial.read_at(c.offset, std::span<byte>(m_buf.data(), c.size));
    if (got && *got == c.size && crypto::hash_block(m_buf) == c.hash) {
      m_counters.resumed_bytes += c.size;
      return true;
    }
  }
  // 2. Somewhere in the folder (the old version of this file, a renamed or
  // copied file): copied in the kernel, then re-read and verified, because
  // the index may be older than the disk.
  auto where = m_folder->db().find_chunk(c.hash, k_reuse_candidates);
  if (!where) return false;
  for (const auto& loc : *where) {
    if (loc.size != c.size) continue;
    auto it = m_readers.find(loc.path.str());
    if (it == m_readers.end()) {
      auto r = m_folder->root().open_read(loc.path);
      if (!r) continue;
      it = m_readers.emplace(loc.path.str(), std::move(*r)).first;
    }
    if (!m_partial.copy_from(it->second, loc.offset, c.offset, c.size)) continue;
    auto got = m_partial.read_at(c.offset, std::span<byte>(m_buf.data(), c.size));
    if (got && *got == c.size && crypto::hash_block(m_buf) == c.hash) {
      m_counters.reused_bytes += c.size;
      return true;
    }
  }
  return false;
}

result<std::vector<std::uint64_t>> file_builder::add_chunks(const std::vector<index::chunk>& page) {
  std::vector<std::uint64_t> need;
  for (const auto& c : page) {
    if (c.offset != m_next_offset || c.size == 0 || c.size > store::chunk_max ||
        c.size > m_want.size - m_next_offset)
      return make_error(errc::malformed, "chunk list of '" + m_want.path.str() + "' is not contiguous or too long");
    // The chunker never cuts below chunk_min except at the end of a file:
    // this bounds a list (and our memory for it) to size / 16 KiB entries,
    // whatever a peer claims.
    if (c.size < store::chunk_min && m_next_offset + c.size != m_want.size)
      return make_error(errc::malformed, "chunk list of '" + m_want.path.str() + "' has a short chunk in the middle");
    m_next_offset += c.size;
    const std::uint64_t index = m_chunks.size();
    m_chunks.push_back(c);
    const bool have = try_local(c);
    m_have.push_back(have);
    if (!have) {
      ++m_missing;
      need.push_back(index);
    }
  }
  return need;
}

status file_builder::put(std::uint64_t index, byte_view data) {
  if (index >= m_chunks.size()) return make_error(errc::malformed, "data for a chunk that was not listed");
  const auto& c = m_chunks[index];
  if (data.size() != c.size || crypto::hash_block(data) != c.hash)
    return make_error(errc::hash_mismatch, "chunk " + std::to_string(index) + " of '" + m_want.path.str() +
                                               "' does not match its hash");
  if (m_have[index]) return {};
  FTSYNC_TRY(m_partial.write_at(c.offset, data));
  m_have[index] = true;
  --m_missing;
  m_counters.received_bytes += c.size;
  return {};
}

status file_builder::commit(const std::optional<index::file_entry>& expect, const keep_alive_fn& keep_alive) {
  if (!list_complete() || m_missing != 0)
    return make_error(errc::internal, "commit of '" + m_target.str() + "' before every chunk arrived");
  if (index::file_hash_of(m_chunks, m_want.size) != m_want.hash)
    return make_error(errc::hash_mismatch, "'" + m_want.path.str() + "' does not match its file hash");
  FTSYNC_TRY(m_partial.truncate(m_want.size));
  FTSYNC_TRY(check_unchanged(*m_folder, m_target, expect));
  FTSYNC_TRY(m_partial.commit(m_want.mtime_ns, m_want.mode, keep_alive));
  index::file_entry e = m_want;
  e.path = m_target;
  e.deleted = false;
  e.kind = index::entry_kind::file;
  if (auto st = m_folder->root().stat(m_target)) {
    e.inode = st->inode;
    e.ctime_ns = st->ctime_ns;
    e.mtime_ns = st->mtime_ns;
    e.mode = st->mode;
  }
  return m_folder->db().put(e, &m_chunks);
}

}  // namespace ftsync::sync
