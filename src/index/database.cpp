// SQLite storage of the folder index (database.hpp explains the choice).
#include <ftsync/index/database.hpp>

#include <sodium.h>
#include <sqlite3.h>

#include <cstring>
#include <map>

namespace ftsync::index {
namespace {

// Bumped when the schema changes; a file of an unknown version is rebuilt
// (the index is a cache of the folder plus version history, the files are
// the truth). Version 1 (no symlinks) is upgraded in place, history kept.
constexpr int k_schema_version = 2;

const char* const k_schema = R"sql(
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS files(
  path TEXT PRIMARY KEY, kind INTEGER NOT NULL, deleted INTEGER NOT NULL, size INTEGER NOT NULL,
  mtime INTEGER NOT NULL, mode INTEGER NOT NULL, inode INTEGER NOT NULL, ctime INTEGER NOT NULL,
  hash BLOB NOT NULL, version TEXT NOT NULL, seq INTEGER NOT NULL, target TEXT NOT NULL DEFAULT '');
CREATE INDEX IF NOT EXISTS files_seq ON files(seq);
CREATE TABLE IF NOT EXISTS chunks(path TEXT NOT NULL, idx INTEGER NOT NULL, offset INTEGER NOT NULL,
  size INTEGER NOT NULL, hash BLOB NOT NULL, PRIMARY KEY(path, idx));
CREATE INDEX IF NOT EXISTS chunks_hash ON chunks(hash);
CREATE TABLE IF NOT EXISTS remote(peer TEXT NOT NULL, path TEXT NOT NULL, kind INTEGER NOT NULL,
  deleted INTEGER NOT NULL, size INTEGER NOT NULL, mtime INTEGER NOT NULL, mode INTEGER NOT NULL,
  hash BLOB NOT NULL, version TEXT NOT NULL, seq INTEGER NOT NULL, target TEXT NOT NULL DEFAULT '',
  PRIMARY KEY(peer, path));
CREATE TABLE IF NOT EXISTS peers(peer TEXT PRIMARY KEY, index_id INTEGER NOT NULL, seq INTEGER NOT NULL);
)sql";

error db_error(sqlite3* db, const std::string& what) {
  return make_error(errc::io, "index database: " + what + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
}

// One prepared statement, reset after each use.
class stmt {
 public:
  stmt() = default;
  stmt(sqlite3* db, const char* sql) : m_db(db) {
    if (sqlite3_prepare_v2(db, sql, -1, &m_s, nullptr) != SQLITE_OK) m_s = nullptr;
  }
  stmt(stmt&& o) noexcept : m_db(o.m_db), m_s(std::exchange(o.m_s, nullptr)) {}
  stmt& operator=(stmt&& o) noexcept {
    if (this != &o) {
      if (m_s) sqlite3_finalize(m_s);
      m_db = o.m_db;
      m_s = std::exchange(o.m_s, nullptr);
    }
    return *this;
  }
  ~stmt() {
    if (m_s) sqlite3_finalize(m_s);
  }
  bool valid() const { return m_s != nullptr; }
  sqlite3_stmt* get() { return m_s; }
  void reset() {
    sqlite3_reset(m_s);
    sqlite3_clear_bindings(m_s);
  }
  stmt& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(m_s, i, v);
    return *this;
  }
  stmt& bind_u(int i, std::uint64_t v) { return bind(i, static_cast<std::int64_t>(v)); }
  stmt& bind(int i, std::string_view v) {
    sqlite3_bind_text(m_s, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  stmt& bind(int i, const crypto::digest& d) {
    sqlite3_bind_blob(m_s, i, d.data(), static_cast<int>(d.size()), SQLITE_TRANSIENT);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return sqlite3_step(m_s); }
  std::int64_t i64(int c) { return sqlite3_column_int64(m_s, c); }
  std::uint64_t u64(int c) { return static_cast<std::uint64_t>(sqlite3_column_int64(m_s, c)); }
  std::string text(int c) {
    const auto* p = sqlite3_column_text(m_s, c);
    return p ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(sqlite3_column_bytes(m_s, c)))
             : std::string();
  }
  crypto::digest digest(int c) {
    crypto::digest d{};
    const void* p = sqlite3_column_blob(m_s, c);
    if (p && sqlite3_column_bytes(m_s, c) == static_cast<int>(d.size())) std::memcpy(d.data(), p, d.size());
    return d;
  }

 private:
  sqlite3* m_db = nullptr;
  sqlite3_stmt* m_s = nullptr;
};

}  // namespace

struct database::impl {
  sqlite3* db = nullptr;
  std::uint64_t index_id = 0;
  std::map<std::string, stmt> cache;

  ~impl() {
    cache.clear();
    if (db) sqlite3_close(db);
  }

  result<stmt*> prepare(const char* sql) {
    auto it = cache.find(sql);
    if (it == cache.end()) {
      stmt s(db, sql);
      if (!s.valid()) return db_error(db, std::string("prepare ") + sql);
      it = cache.emplace(sql, std::move(s)).first;
    }
    it->second.reset();
    return &it->second;
  }

  status exec(const char* sql) {
    char* msg = nullptr;
    if (sqlite3_exec(db, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
      std::string m = msg ? msg : "unknown";
      sqlite3_free(msg);
      return make_error(errc::io, std::string("index database: ") + m);
    }
    return {};
  }

  // Runs a statement that returns no rows.
  status run(stmt& s, const char* what) {
    const int rc = s.step();
    s.reset();
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) return db_error(db, what);
    return {};
  }

  result<std::uint64_t> meta(const char* key, std::uint64_t fallback) {
    auto s = prepare("SELECT value FROM meta WHERE key=?");
    if (!s) return std::move(s).err();
    (*s)->bind(1, key);
    std::uint64_t v = fallback;
    if ((*s)->step() == SQLITE_ROW) v = (*s)->u64(0);
    (*s)->reset();
    return v;
  }
  status set_meta(const char* key, std::uint64_t v) {
    auto s = prepare("INSERT INTO meta(key,value) VALUES(?,?) ON CONFLICT(key) DO UPDATE SET value=excluded.value");
    if (!s) return std::move(s).err();
    (*s)->bind(1, key).bind_u(2, v);
    return run(**s, "write meta");
  }
};

namespace {

// Columns: path kind deleted size mtime mode [inode ctime] hash version seq target
result<file_entry> row_to_entry(stmt& s, bool local) {
  file_entry e;
  auto p = rel_path::parse(s.text(0));
  if (!p) return make_error(errc::malformed, "index database holds a bad path: " + p.err().message);
  e.path = *p;
  const auto kind = s.i64(1);
  if (kind < 0 || kind > static_cast<std::int64_t>(entry_kind::symlink))
    return make_error(errc::malformed, "index database holds an unknown entry kind");
  e.kind = static_cast<entry_kind>(kind);
  e.deleted = s.i64(2) != 0;
  e.size = s.u64(3);
  e.mtime_ns = s.i64(4);
  e.mode = static_cast<std::uint32_t>(s.i64(5));
  int c = 6;
  if (local) {
    e.inode = s.u64(6);
    e.ctime_ns = s.i64(7);
    c = 8;
  }
  e.hash = s.digest(c);
  auto v = version_vector::decode(s.text(c + 1));
  if (!v) return std::move(v).err();
  e.version = std::move(*v);
  e.sequence = s.u64(c + 2);
  e.target = s.text(c + 3);
  return e;
}

// Every row of a prepared and bound statement, which is reset after (also
// on error, so the cached statement is ready for its next use).
result<std::vector<file_entry>> rows_to_entries(stmt& s, bool local) {
  std::vector<file_entry> out;
  while (s.step() == SQLITE_ROW) {
    auto e = row_to_entry(s, local);
    if (!e) {
      s.reset();
      return std::move(e).err();
    }
    out.push_back(std::move(*e));
  }
  s.reset();
  return out;
}

// The first row only (queries by primary key).
result<std::optional<file_entry>> first_entry(stmt& s, bool local) {
  std::optional<file_entry> out;
  if (s.step() == SQLITE_ROW) {
    auto e = row_to_entry(s, local);
    if (!e) {
      s.reset();
      return std::move(e).err();
    }
    out = std::move(*e);
  }
  s.reset();
  return out;
}

}  // namespace

database::database(std::unique_ptr<impl> p) : m_impl(std::move(p)) {}
database::database(database&&) noexcept = default;
database& database::operator=(database&&) noexcept = default;
database::~database() = default;

result<database> database::open(const std::filesystem::path& file) {
  auto p = std::make_unique<impl>();
  if (sqlite3_open_v2(file.c_str(), &p->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK)
    return db_error(p->db, "cannot open " + file.string());
  sqlite3_busy_timeout(p->db, 5000);
  // WAL: readers never block the writer; NORMAL sync is crash-safe in WAL
  // mode (a crash may lose the last commits, never corrupt the file), and
  // losing them only means a rescan re-reads those files.
  FTSYNC_TRY(p->exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"));
  int version = 0;
  {
    stmt s(p->db, "PRAGMA user_version");
    if (s.valid() && s.step() == SQLITE_ROW) version = static_cast<int>(s.i64(0));
  }
  if (version == 1)
    FTSYNC_TRY(p->exec("ALTER TABLE files ADD COLUMN target TEXT NOT NULL DEFAULT '';"
                       "ALTER TABLE remote ADD COLUMN target TEXT NOT NULL DEFAULT '';"));
  else if (version != 0 && version != k_schema_version)
    FTSYNC_TRY(p->exec("DROP TABLE IF EXISTS meta; DROP TABLE IF EXISTS files; DROP TABLE IF EXISTS chunks;"
                       "DROP TABLE IF EXISTS remote; DROP TABLE IF EXISTS peers;"));
  FTSYNC_TRY(p->exec(k_schema));
  FTSYNC_TRY(p->exec(("PRAGMA user_version=" + std::to_string(k_schema_version)).c_str()));
  auto id = p->meta("index_id", 0);
  if (!id) return std::move(id).err();
  p->index_id = *id;
  if (p->index_id == 0) {
    std::uint64_t r = 0;
    while (r == 0) randombytes_buf(&r, sizeof r);
    r &= 0x7fffffffffffffffull;  // stays positive in SQLite's signed integers
    if (r == 0) r = 1;
    FTSYNC_TRY(p->set_meta("index_id", r));
    p->index_id = r;
  }
  return database(std::move(p));
}

std::uint64_t database::index_id() const { return m_impl->index_id; }

result<std::uint64_t> database::max_sequence() {
  auto next = m_impl->meta("next_seq", 1);
  if (!next) return std::move(next).err();
  return *next - 1;
}

status database::begin() { return m_impl->exec("BEGIN IMMEDIATE"); }
status database::commit() { return m_impl->exec("COMMIT"); }
void database::rollback() noexcept { (void)m_impl->exec("ROLLBACK"); }

result<std::optional<file_entry>> database::get(const rel_path& path) {
  auto s = m_impl->prepare(
      "SELECT path,kind,deleted,size,mtime,mode,inode,ctime,hash,version,seq,target FROM files WHERE path=?");
  if (!s) return std::move(s).err();
  (*s)->bind(1, path.str());
  return first_entry(**s, true);
}

result<std::vector<file_entry>> database::all() {
  auto s = m_impl->prepare("SELECT path,kind,deleted,size,mtime,mode,inode,ctime,hash,version,seq,target FROM files");
  if (!s) return std::move(s).err();
  return rows_to_entries(**s, true);
}

result<std::vector<file_entry>> database::under(const rel_path& dir) {
  if (dir.is_root()) return all();
  // Descendants of "a/b" sort in ["a/b/", "a/b0"): '0' follows '/' in
  // SQLite's byte order, and the primary key's index answers the range.
  auto s = m_impl->prepare(
      "SELECT path,kind,deleted,size,mtime,mode,inode,ctime,hash,version,seq,target FROM files WHERE path>=? AND path<?");
  if (!s) return std::move(s).err();
  (*s)->bind(1, dir.str() + "/").bind(2, dir.str() + "0");
  return rows_to_entries(**s, true);
}

result<std::vector<file_entry>> database::changed_since(std::uint64_t after, std::size_t limit) {
  auto s = m_impl->prepare(
      "SELECT path,kind,deleted,size,mtime,mode,inode,ctime,hash,version,seq,target FROM files WHERE seq>? "
      "ORDER BY seq LIMIT ?");
  if (!s) return std::move(s).err();
  (*s)->bind_u(1, after).bind_u(2, limit);
  return rows_to_entries(**s, true);
}

status database::put(file_entry& e, const std::vector<chunk>* chunks) {
  auto next = m_impl->meta("next_seq", 1);
  if (!next) return std::move(next).err();
  e.sequence = *next;
  FTSYNC_TRY(m_impl->set_meta("next_seq", *next + 1));
  auto s = m_impl->prepare(
      "INSERT INTO files(path,kind,deleted,size,mtime,mode,inode,ctime,hash,version,seq,target) "
      "VALUES(?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(path) DO UPDATE SET kind=excluded.kind,"
      "deleted=excluded.deleted,size=excluded.size,mtime=excluded.mtime,mode=excluded.mode,"
      "inode=excluded.inode,ctime=excluded.ctime,hash=excluded.hash,version=excluded.version,seq=excluded.seq,"
      "target=excluded.target");
  if (!s) return std::move(s).err();
  (*s)->bind(1, e.path.str())
      .bind(2, static_cast<std::int64_t>(e.kind))
      .bind(3, std::int64_t{e.deleted})
      .bind_u(4, e.size)
      .bind(5, e.mtime_ns)
      .bind(6, std::int64_t{e.mode})
      .bind_u(7, e.inode)
      .bind(8, e.ctime_ns)
      .bind(9, e.hash)
      .bind(10, e.version.encode())
      .bind_u(11, e.sequence)
      .bind(12, e.deleted ? std::string_view("") : std::string_view(e.target));
  FTSYNC_TRY(m_impl->run(**s, "write entry"));
  if (chunks != nullptr || e.deleted || e.kind != entry_kind::file) {
    auto del = m_impl->prepare("DELETE FROM chunks WHERE path=?");
    if (!del) return std::move(del).err();
    (*del)->bind(1, e.path.str());
    FTSYNC_TRY(m_impl->run(**del, "drop chunks"));
  }
  if (chunks != nullptr && !e.deleted) {
    auto ins = m_impl->prepare("INSERT INTO chunks(path,idx,offset,size,hash) VALUES(?,?,?,?,?)");
    if (!ins) return std::move(ins).err();
    std::int64_t i = 0;
    for (const auto& c : *chunks) {
      (*ins)->bind(1, e.path.str()).bind(2, i++).bind_u(3, c.offset).bind(4, std::int64_t{c.size}).bind(5, c.hash);
      FTSYNC_TRY(m_impl->run(**ins, "write chunk"));
    }
  }
  return {};
}

status database::update_stat(const file_entry& e) {
  auto s = m_impl->prepare("UPDATE files SET inode=?,ctime=?,size=?,mtime=? WHERE path=?");
  if (!s) return std::move(s).err();
  (*s)->bind_u(1, e.inode).bind(2, e.ctime_ns).bind_u(3, e.size).bind(4, e.mtime_ns).bind(5, e.path.str());
  return m_impl->run(**s, "update entry");
}

result<std::vector<chunk>> database::chunks(const rel_path& path) {
  auto s = m_impl->prepare("SELECT offset,size,hash FROM chunks WHERE path=? ORDER BY idx");
  if (!s) return std::move(s).err();
  (*s)->bind(1, path.str());
  std::vector<chunk> out;
  while ((*s)->step() == SQLITE_ROW)
    out.push_back(chunk{(*s)->u64(0), static_cast<std::uint32_t>((*s)->i64(1)), (*s)->digest(2)});
  (*s)->reset();
  return out;
}

result<std::vector<chunk_location>> database::find_chunk(const crypto::digest& hash, std::size_t limit) {
  auto s = m_impl->prepare("SELECT path,offset,size FROM chunks WHERE hash=? LIMIT ?");
  if (!s) return std::move(s).err();
  (*s)->bind(1, hash).bind_u(2, limit);
  std::vector<chunk_location> out;
  while ((*s)->step() == SQLITE_ROW) {
    auto p = rel_path::parse((*s)->text(0));
    if (!p) continue;
    out.push_back(chunk_location{*p, (*s)->u64(1), static_cast<std::uint32_t>((*s)->i64(2))});
  }
  (*s)->reset();
  return out;
}

result<peer_state> database::peer(std::string_view peer) {
  auto s = m_impl->prepare("SELECT index_id,seq FROM peers WHERE peer=?");
  if (!s) return std::move(s).err();
  (*s)->bind(1, peer);
  peer_state st;
  if ((*s)->step() == SQLITE_ROW) st = peer_state{(*s)->u64(0), (*s)->u64(1)};
  (*s)->reset();
  return st;
}

status database::set_peer(std::string_view peer, const peer_state& st) {
  auto s = m_impl->prepare(
      "INSERT INTO peers(peer,index_id,seq) VALUES(?,?,?) ON CONFLICT(peer) DO UPDATE SET "
      "index_id=excluded.index_id,seq=excluded.seq");
  if (!s) return std::move(s).err();
  (*s)->bind(1, peer).bind_u(2, st.index_id).bind_u(3, st.sequence);
  return m_impl->run(**s, "write peer state");
}

status database::put_remote(std::string_view peer, const file_entry& e) {
  auto s = m_impl->prepare(
      "INSERT INTO remote(peer,path,kind,deleted,size,mtime,mode,hash,version,seq,target) "
      "VALUES(?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(peer,path) DO UPDATE SET kind=excluded.kind,"
      "deleted=excluded.deleted,size=excluded.size,mtime=excluded.mtime,mode=excluded.mode,hash=excluded.hash,"
      "version=excluded.version,seq=excluded.seq,target=excluded.target");
  if (!s) return std::move(s).err();
  (*s)->bind(1, peer)
      .bind(2, e.path.str())
      .bind(3, static_cast<std::int64_t>(e.kind))
      .bind(4, std::int64_t{e.deleted})
      .bind_u(5, e.size)
      .bind(6, e.mtime_ns)
      .bind(7, std::int64_t{e.mode})
      .bind(8, e.hash)
      .bind(9, e.version.encode())
      .bind_u(10, e.sequence)
      .bind(11, e.deleted ? std::string_view("") : std::string_view(e.target));
  return m_impl->run(**s, "write remote entry");
}

result<std::vector<file_entry>> database::remote_all(std::string_view peer) {
  auto s = m_impl->prepare("SELECT path,kind,deleted,size,mtime,mode,hash,version,seq,target FROM remote WHERE peer=?");
  if (!s) return std::move(s).err();
  (*s)->bind(1, peer);
  return rows_to_entries(**s, false);
}

result<std::optional<file_entry>> database::remote_get(std::string_view peer, const rel_path& path) {
  auto s = m_impl->prepare(
      "SELECT path,kind,deleted,size,mtime,mode,hash,version,seq,target FROM remote WHERE peer=? AND path=?");
  if (!s) return std::move(s).err();
  (*s)->bind(1, peer).bind(2, path.str());
  return first_entry(**s, false);
}

status database::clear_remote(std::string_view peer) {
  auto s = m_impl->prepare("DELETE FROM remote WHERE peer=?");
  if (!s) return std::move(s).err();
  (*s)->bind(1, peer);
  return m_impl->run(**s, "clear remote entries");
}

}  // namespace ftsync::index
