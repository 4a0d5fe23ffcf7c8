// Index update apply, differential (research/security.md "Fuzz targets":
// fuzz_index_apply; issue 5). The input is a sequence of operations on a
// fresh index::database: entries a peer announces (put_remote), local
// changes (put), lookups, listings and clear_remote, with field values and
// version vectors taken from the input (vectors also through
// version_vector::decode of input text, as read back from the database).
// A plain std::map is the oracle: after every operation the database must
// agree with it. Version vectors must round-trip through encode/decode and
// obey the order laws (merge is an upper bound; compare is antisymmetric).
// Invariants: nothing throws or aborts; every accepted write reads back
// exactly; sequences strictly increase.
//
// The wire side of index updates (sync_index_reply records planned and
// applied by the sync client) is fuzz_sync_apply's.
#include <ftsync/index/database.hpp>
#include <ftsync/index/entry.hpp>
#include <ftsync/index/version_vector.hpp>
#include <ftsync/util/rel_path.hpp>

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

namespace {

namespace fs = std::filesystem;
using namespace ftsync;
using index::file_entry;
using index::ordering;
using index::version_vector;

void require(bool ok) {
  if (!ok) std::abort();
}

struct cursor {
  const std::uint8_t* p;
  const std::uint8_t* end;
  bool empty() const { return p >= end; }
  std::uint8_t u8() { return p < end ? *p++ : 0; }
  std::uint64_t u64() {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | u8();
    return v;
  }
  std::string str(std::size_t max) {
    const std::size_t want = u8() % (max + 1);
    const std::size_t n = std::min<std::size_t>(want, static_cast<std::size_t>(end - p));
    std::string s(reinterpret_cast<const char*>(p), n);
    p += n;
    return s;
  }
};

// A small set of paths so operations collide, plus arbitrary input text.
std::optional<rel_path> path_from(cursor& c) {
  static const char* k_paths[] = {"a", "b", "a/b", "c/d/e", "\xc3\xbc", "x y", "a.sync-conflict-1", "z"};
  const std::uint8_t sel = c.u8();
  if (sel < 0xf0) return *rel_path::parse(k_paths[sel % 8]);
  auto p = rel_path::parse(c.str(40));
  if (!p || p->is_root()) return std::nullopt;
  return *p;
}

version_vector vector_from(cursor& c) {
  if (c.u8() & 1) {
    auto v = version_vector::decode(c.str(60));
    if (v) return *v;
  }
  std::vector<version_vector::item> items;
  const int n = c.u8() % 5;
  for (int i = 0; i < n; ++i) items.emplace_back(c.u8() % 4 + (c.u8() & 0x80 ? c.u64() : 0), c.u64() % 1000);
  return version_vector::from_items(std::move(items));
}

void check_vectors(const version_vector& a, const version_vector& b) {
  auto again = version_vector::decode(a.encode());
  require(again.ok() && *again == a);
  require(a.compare(a) == ordering::equal);
  const ordering ab = a.compare(b), ba = b.compare(a);
  switch (ab) {
    case ordering::equal: require(ba == ordering::equal); break;
    case ordering::concurrent: require(ba == ordering::concurrent); break;
    case ordering::ancestor: require(ba == ordering::descendant); break;
    case ordering::descendant: require(ba == ordering::ancestor); break;
  }
  const version_vector m = a.merged(b);
  for (const auto& x : {a, b}) {
    const ordering o = m.compare(x);
    require(o == ordering::equal || o == ordering::descendant);
  }
}

file_entry entry_from(cursor& c, const rel_path& path) {
  file_entry e;
  e.path = path;
  const std::uint8_t flags = c.u8();
  e.kind = (flags & 1) ? index::entry_kind::directory : index::entry_kind::file;
  e.deleted = flags & 2;
  e.size = (flags & 4) ? c.u64() : c.u8();
  e.mtime_ns = static_cast<std::int64_t>(c.u64());
  e.mode = c.u8() | (static_cast<std::uint32_t>(c.u8() & 0x0f) << 8);
  for (auto& b : e.hash) b = (flags & 8) ? c.u8() : 0;
  e.version = vector_from(c);
  return e;
}

// The fields a peer's entry carries (no inode/ctime: local only).
bool same_remote(const file_entry& a, const file_entry& b) {
  return a.path == b.path && a.kind == b.kind && a.deleted == b.deleted && a.size == b.size &&
         a.mtime_ns == b.mtime_ns && a.mode == b.mode && a.hash == b.hash && a.version == b.version &&
         a.sequence == b.sequence;
}

bool same_local(const file_entry& a, const file_entry& b) {
  return same_remote(a, b) && a.inode == b.inode && a.ctime_ns == b.ctime_ns;
}

fs::path db_dir() {
  std::error_code ec;
  return fs::is_directory("/dev/shm", ec) ? fs::path("/dev/shm") : fs::temp_directory_path();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static unsigned counter = 0;
  const fs::path file = db_dir() / ("ftsync-fuzz-index-" + std::to_string(::getpid()) + "-" +
                                    std::to_string(++counter) + ".db");
  {
    auto db = index::database::open(file);
    require(db.ok());
    cursor c{data, data + size};
    std::map<rel_path, file_entry> remote, local;
    std::uint64_t last_seq = 0;
    version_vector prev;
    const std::string peer = "PEER-" + std::to_string(c.u8() % 3);
    for (int i = 0; i < 24 && !c.empty(); ++i) {
      const std::uint8_t op = c.u8();
      switch (op % 6) {
        case 0: {  // a peer announces an entry
          auto p = path_from(c);
          if (!p) break;
          file_entry e = entry_from(c, *p);
          e.sequence = c.u64() >> 1;
          check_vectors(e.version, prev);
          prev = e.version;
          if (db->put_remote(peer, e).ok()) remote[*p] = e;
          break;
        }
        case 1: {  // look one up
          auto p = path_from(c);
          if (!p) break;
          auto got = db->remote_get(peer, *p);
          require(got.ok());
          const auto it = remote.find(*p);
          require(got->has_value() == (it != remote.end()));
          if (*got) require(same_remote(**got, it->second));
          break;
        }
        case 2: {  // the whole remote index
          auto all = db->remote_all(peer);
          require(all.ok() && all->size() == remote.size());
          for (const auto& e : *all) require(remote.count(e.path) && same_remote(e, remote.at(e.path)));
          break;
        }
        case 3:
          require(db->clear_remote(peer).ok());
          remote.clear();
          break;
        case 4: {  // a local change
          auto p = path_from(c);
          if (!p) break;
          file_entry e = entry_from(c, *p);
          e.inode = c.u64();
          e.ctime_ns = static_cast<std::int64_t>(c.u64());
          if (!db->put(e).ok()) break;
          require(e.sequence > last_seq);
          last_seq = e.sequence;
          local[*p] = e;
          auto got = db->get(*p);
          require(got.ok() && got->has_value() && same_local(**got, e));
          break;
        }
        case 5: {  // what changed since a sequence
          const std::uint64_t after = c.u8() % (last_seq + 1);
          auto changed = db->changed_since(after, 100000);
          require(changed.ok());
          std::uint64_t seq = after;
          std::size_t expected = 0;
          for (const auto& [p, e] : local) expected += e.sequence > after ? 1 : 0;
          require(changed->size() == expected);
          for (const auto& e : *changed) {
            require(e.sequence > seq);
            seq = e.sequence;
            require(local.count(e.path) && same_local(e, local.at(e.path)));
          }
          auto mx = db->max_sequence();
          require(mx.ok() && *mx == last_seq);
          break;
        }
      }
    }
  }
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) fs::remove(file.string() + suffix, ec);
  return 0;
}
