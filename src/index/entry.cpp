#include <ftsync/index/entry.hpp>

#include <ctime>

namespace ftsync::index {

bool file_entry::same_data(const file_entry& o) const noexcept {
  if (deleted || o.deleted) return deleted == o.deleted;
  if (kind != o.kind) return false;
  if (kind == entry_kind::symlink) return target == o.target;
  return kind == entry_kind::directory || (hash == o.hash && size == o.size);
}

bool file_entry::same_state(const file_entry& o) const noexcept {
  if (!same_data(o)) return false;
  if (deleted || kind == entry_kind::symlink) return true;
  return (mode & 07777) == (o.mode & 07777) && (kind == entry_kind::directory || mtime_ns == o.mtime_ns);
}

device_id device_of(const crypto::public_key& key) {
  const auto h = crypto::hash_block(byte_view(key.bytes.data(), key.bytes.size()));
  device_id d = 0;
  for (int i = 7; i >= 0; --i) d = (d << 8) | h[static_cast<std::size_t>(i)];
  return d;
}

crypto::digest file_hash_of(const std::vector<chunk>& chunks, std::uint64_t size) {
  crypto::file_hasher fh;
  for (const auto& c : chunks) fh.add_block(c.hash);
  return fh.finish(size);
}

std::string conflict_name(std::string_view name, std::int64_t unix_s, std::string_view peer) {
  std::string_view stem = name, ext;
  const auto dot = name.rfind('.');
  if (dot != std::string_view::npos && dot > 0) {
    stem = name.substr(0, dot);
    ext = name.substr(dot);
  }
  const std::time_t t = static_cast<std::time_t>(unix_s);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char when[32];
  std::strftime(when, sizeof when, "%Y%m%d-%H%M%S", &tm);
  std::string out(stem);
  out += ".sync-conflict-";
  out += when;
  out += '-';
  out += peer;
  out += ext;
  // NAME_MAX: a 255-byte name cannot grow; cut the stem, keep the suffix.
  if (out.size() > 255) {
    const std::size_t over = out.size() - 255;
    out.erase(stem.size() > over ? stem.size() - over : 0, over);
  }
  return out;
}

}  // namespace ftsync::index
