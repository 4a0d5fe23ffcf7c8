// Version vectors, the ignore matcher, the database and the scanner.
#include <ftsync/index/database.hpp>
#include <ftsync/index/ignore.hpp>
#include <ftsync/index/scanner.hpp>
#include <ftsync/index/version_vector.hpp>

#include <doctest/doctest.h>
#include <sqlite3.h>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

using namespace ftsync;
using namespace ftsync::index;
namespace fs = std::filesystem;

namespace {

rel_path rp(const std::string& s) {
  auto p = rel_path::parse(s);
  REQUIRE_MESSAGE(p.ok(), s);
  return *p;
}

struct temp {
  fs::path dir;
  temp() {
    char tmpl[] = "/tmp/ftsync-index-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    dir = tmpl;
  }
  ~temp() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

void write(const fs::path& p, const std::string& s) {
  fs::create_directories(p.parent_path());
  std::ofstream o(p, std::ios::binary | std::ios::trunc);
  o << s;
}

std::string random_text(std::size_t n, unsigned seed) {
  std::mt19937 g(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = static_cast<char>(g());
  return s;
}

}  // namespace

TEST_CASE("version vectors: equal, ancestor, descendant, concurrent") {
  const device_id a = 1, b = 2;
  version_vector v0;
  CHECK(v0.compare(v0) == ordering::equal);
  version_vector v1 = v0;
  v1.bump(a, 0);
  CHECK(v1.get(a) == 1);
  CHECK(v1.compare(v0) == ordering::descendant);
  CHECK(v0.compare(v1) == ordering::ancestor);
  version_vector left = v1, right = v1;
  left.bump(a, 0);
  right.bump(b, 0);
  CHECK(left.compare(right) == ordering::concurrent);
  CHECK(right.compare(left) == ordering::concurrent);
  const auto m = left.merged(right);
  CHECK(m.compare(left) == ordering::descendant);
  CHECK(m.compare(right) == ordering::descendant);
  CHECK(m.get(a) == 2);
  CHECK(m.get(b) == 1);
  version_vector m2 = m;
  m2.bump(b, 5);
  CHECK(m2.compare(left) == ordering::descendant);
  CHECK(left.compare(m2) == ordering::ancestor);
  // bump follows the clock when it is ahead
  version_vector t;
  t.bump(a, 1000);
  CHECK(t.get(a) == 1000);
  t.bump(a, 10);
  CHECK(t.get(a) == 1001);
  CHECK(m2.last_modifier() == b);
}

TEST_CASE("version vectors: encode and decode round trip, bad text refused") {
  auto v = version_vector::from_items({{0xdeadbeefcafe, 7}, {3, 1}, {3, 5}, {9, 0}});
  CHECK(v.items().size() == 2);
  CHECK(v.get(3) == 5);
  auto d = version_vector::decode(v.encode());
  REQUIRE(d.ok());
  CHECK(*d == v);
  CHECK(version_vector::decode("").ok());
  CHECK_FALSE(version_vector::decode("zz:1").ok());
  CHECK_FALSE(version_vector::decode("1:").ok());
  CHECK_FALSE(version_vector::decode("1").ok());
}

TEST_CASE("ignore matcher: names, globs, anchors, dir-only, ** and negation") {
  const auto m = ignore_matcher::parse(
      "# comment\n"
      "\n"
      "*.tmp\n"
      "/build\n"
      "cache/\n"
      "doc/*.txt\n"
      "**/logs/*.log\n"
      "out/**\n"
      "a/**/z\n"
      "*.bak\n"
      "!keep.bak\n"
      "\\#hash\n"
      "trailing   \n");
  CHECK(m.ignored(rp("x.tmp"), false));
  CHECK(m.ignored(rp("deep/er/x.tmp"), false));
  CHECK_FALSE(m.ignored(rp("x.tmpl"), false));
  CHECK(m.ignored(rp("build"), true));
  CHECK(m.ignored(rp("build/a.o"), false));  // beneath an ignored directory
  CHECK_FALSE(m.ignored(rp("src/build"), true));  // anchored: only at the root
  CHECK(m.ignored(rp("cache"), true));
  CHECK(m.ignored(rp("x/cache"), true));
  CHECK_FALSE(m.ignored(rp("cache"), false));  // dir-only pattern, a file
  CHECK(m.ignored(rp("doc/a.txt"), false));
  CHECK_FALSE(m.ignored(rp("doc/sub/a.txt"), false));  // '*' does not cross '/'
  CHECK_FALSE(m.ignored(rp("x/doc/a.txt"), false));    // middle slash anchors
  CHECK(m.ignored(rp("logs/a.log"), false));
  CHECK(m.ignored(rp("p/q/logs/a.log"), false));
  CHECK_FALSE(m.ignored(rp("p/q/logs/a.txt"), false));
  CHECK(m.ignored(rp("out/x"), false));
  CHECK(m.ignored(rp("out/x/y"), false));
  CHECK_FALSE(m.ignored(rp("out"), true));  // "out/**" matches inside, not out itself
  CHECK(m.ignored(rp("a/z"), false));
  CHECK(m.ignored(rp("a/b/c/z"), false));
  CHECK_FALSE(m.ignored(rp("b/a/z"), false));
  CHECK(m.ignored(rp("old.bak"), false));
  CHECK_FALSE(m.ignored(rp("keep.bak"), false));
  CHECK(m.ignored(rp("#hash"), false));
  CHECK(m.ignored(rp("trailing"), false));
  CHECK_FALSE(m.ignored(rp("plain.txt"), false));
}

TEST_CASE("ignore matcher: a file beneath an excluded directory cannot be re-included") {
  const auto m = ignore_matcher::parse("secret/\n!secret/ok.txt\n*.log\n!important.log\n");
  CHECK(m.ignored(rp("secret/ok.txt"), false));
  CHECK(m.ignored(rp("x.log"), false));
  CHECK_FALSE(m.ignored(rp("important.log"), false));
  CHECK_FALSE(m.ignored(rp("sub/important.log"), false));
  const auto empty = ignore_matcher::parse("");
  CHECK(empty.empty());
  CHECK_FALSE(empty.ignored(rp("anything"), false));
}

TEST_CASE("conflict names follow NAME.sync-conflict-YYYYMMDD-HHMMSS-PEERID.EXT") {
  // 2021-01-02 03:04:05 UTC
  CHECK(conflict_name("report.txt", 1609556645, "ABCDEFGH") == "report.sync-conflict-20210102-030405-ABCDEFGH.txt");
  CHECK(conflict_name("noext", 1609556645, "P") == "noext.sync-conflict-20210102-030405-P");
  CHECK(conflict_name(".bashrc", 1609556645, "P") == ".bashrc.sync-conflict-20210102-030405-P");
  CHECK(conflict_name("a.tar.gz", 1609556645, "P") == "a.tar.sync-conflict-20210102-030405-P.gz");
  CHECK(conflict_name(std::string(250, 'x') + ".txt", 0, "PEER").size() == 255);
}

TEST_CASE("database: entries, sequences, chunks, tombstones, peers survive a reopen") {
  temp t;
  const auto file = t.dir / "index.db";
  std::uint64_t id = 0;
  {
    auto db = database::open(file);
    REQUIRE_MESSAGE(db.ok(), db.err().message);
    id = db->index_id();
    CHECK(id != 0);
    CHECK(db->max_sequence().value() == 0);
    file_entry e;
    e.path = rp("a/b.txt");
    e.size = 5;
    e.mtime_ns = 123;
    e.mode = 0644;
    e.hash[0] = 9;
    e.version.bump(42, 0);
    std::vector<chunk> chunks = {{0, 3, {}}, {3, 2, {}}};
    chunks[0].hash[0] = 1;
    chunks[1].hash[0] = 2;
    REQUIRE(db->put(e, &chunks).ok());
    CHECK(e.sequence == 1);
    file_entry d;
    d.path = rp("a");
    d.kind = entry_kind::directory;
    REQUIRE(db->put(d).ok());
    CHECK(d.sequence == 2);
    REQUIRE(db->set_peer("peer1", peer_state{77, 5}).ok());
    REQUIRE(db->put_remote("peer1", e).ok());
  }
  auto db = database::open(file);
  REQUIRE(db.ok());
  CHECK(db->index_id() == id);
  CHECK(db->max_sequence().value() == 2);
  auto e = db->get(rp("a/b.txt"));
  REQUIRE(e.ok());
  REQUIRE(e->has_value());
  CHECK((*e)->size == 5);
  CHECK((*e)->version.get(42) == 1);
  auto ch = db->chunks(rp("a/b.txt"));
  REQUIRE(ch.ok());
  REQUIRE(ch->size() == 2);
  CHECK((*ch)[1].offset == 3);
  crypto::digest h{};
  h[0] = 2;
  auto where = db->find_chunk(h, 4);
  REQUIRE(where.ok());
  REQUIRE(where->size() == 1);
  CHECK(where->front().path == rp("a/b.txt"));
  CHECK(where->front().offset == 3);
  auto since = db->changed_since(1, 10);
  REQUIRE(since.ok());
  REQUIRE(since->size() == 1);
  CHECK(since->front().path == rp("a"));
  // A tombstone drops the chunk list.
  file_entry dead = **e;
  dead.deleted = true;
  REQUIRE(db->put(dead).ok());
  CHECK(db->chunks(rp("a/b.txt"))->empty());
  CHECK(db->peer("peer1")->index_id == 77);
  CHECK(db->peer("nobody")->index_id == 0);
  CHECK(db->remote_all("peer1")->size() == 1);
  REQUIRE(db->clear_remote("peer1").ok());
  CHECK(db->remote_all("peer1")->empty());
}

// An index written before symlinks were synced (schema 1) is upgraded in
// place: its entries, version history and peer cache stay, and symlink
// targets can be stored from then on, locally and for a peer.
TEST_CASE("database: a schema-1 index is upgraded in place, history kept") {
  temp t;
  const auto file = t.dir / "index.db";
  {
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open(file.c_str(), &raw) == SQLITE_OK);
    const char* v1 = R"sql(
      CREATE TABLE meta(key TEXT PRIMARY KEY, value INTEGER NOT NULL);
      CREATE TABLE files(path TEXT PRIMARY KEY, kind INTEGER NOT NULL, deleted INTEGER NOT NULL,
        size INTEGER NOT NULL, mtime INTEGER NOT NULL, mode INTEGER NOT NULL, inode INTEGER NOT NULL,
        ctime INTEGER NOT NULL, hash BLOB NOT NULL, version TEXT NOT NULL, seq INTEGER NOT NULL);
      CREATE TABLE chunks(path TEXT NOT NULL, idx INTEGER NOT NULL, offset INTEGER NOT NULL,
        size INTEGER NOT NULL, hash BLOB NOT NULL, PRIMARY KEY(path, idx));
      CREATE TABLE remote(peer TEXT NOT NULL, path TEXT NOT NULL, kind INTEGER NOT NULL,
        deleted INTEGER NOT NULL, size INTEGER NOT NULL, mtime INTEGER NOT NULL, mode INTEGER NOT NULL,
        hash BLOB NOT NULL, version TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY(peer, path));
      CREATE TABLE peers(peer TEXT PRIMARY KEY, index_id INTEGER NOT NULL, seq INTEGER NOT NULL);
      INSERT INTO meta VALUES('index_id', 4242), ('next_seq', 8);
      INSERT INTO files VALUES('old.txt', 0, 0, 3, 5, 420, 1, 2, zeroblob(32), '7:3', 7);
      INSERT INTO peers VALUES('p', 99, 6);
      PRAGMA user_version=1;)sql";
    REQUIRE(sqlite3_exec(raw, v1, nullptr, nullptr, nullptr) == SQLITE_OK);
    sqlite3_close(raw);
  }
  auto db = database::open(file);
  REQUIRE_MESSAGE(db.ok(), db.err().message);
  CHECK(db->index_id() == 4242);
  auto old = db->get(rp("old.txt"));
  REQUIRE(old->has_value());
  CHECK((*old)->version.get(7) == 3);
  CHECK((*old)->target.empty());
  CHECK(db->peer("p")->sequence == 6);
  file_entry link;
  link.path = rp("link");
  link.kind = entry_kind::symlink;
  link.target = "old.txt";
  link.version.bump(7, 0);
  REQUIRE(db->put(link).ok());
  CHECK(link.sequence == 8);
  REQUIRE(db->put_remote("p", link).ok());
  CHECK((*db->get(rp("link")))->target == "old.txt");
  CHECK((*db->remote_get("p", rp("link")))->target == "old.txt");
  CHECK((*db->remote_get("p", rp("link")))->kind == entry_kind::symlink);
}

TEST_CASE("scanner: finds new, changed and deleted files; an unchanged rescan reads nothing") {
  temp t;
  const fs::path folder = t.dir / "folder";
  fs::create_directories(folder / "sub" / "deeper");
  write(folder / "a.txt", "hello");
  write(folder / "sub" / "b.bin", random_text(300000, 1));
  write(folder / "sub" / "deeper" / "c.txt", "c");
  write(folder / "skip.tmp", "ignored");
  write(folder / ".ftsyncignore", "*.tmp\n");
  fs::create_symlink("a.txt", folder / "link");
  auto root = store::root::open(folder);
  REQUIRE(root.ok());
  auto db = database::open(t.dir / "index.db");
  REQUIRE(db.ok());
  auto ign = load_ignore(*root);
  REQUIRE(ign.ok());
  scan_options o;
  o.me = 7;

  auto s1 = scan(*root, *db, *ign, o);
  REQUIRE_MESSAGE(s1.ok(), s1.err().message);
  CHECK(s1->files == 4);  // three files and the symlink
  CHECK(s1->dirs == 2);
  CHECK(s1->hashed_files == 3);
  CHECK(s1->changed == 6);
  CHECK(s1->skipped == 0);
  CHECK(db->get(rp("skip.tmp"))->has_value() == false);
  auto b = db->get(rp("sub/b.bin"));
  REQUIRE(b->has_value());
  CHECK((*b)->size == 300000);
  const auto chunks = db->chunks(rp("sub/b.bin")).value();
  CHECK(chunks.size() >= 3);  // 300 kB in chunks of at most 128 KiB
  CHECK(file_hash_of(chunks, 300000) == (*b)->hash);

  // Restart on an unchanged tree: no file is read.
  auto s2 = scan(*root, *db, *ign, o);
  REQUIRE(s2.ok());
  CHECK(s2->hashed_files == 0);
  CHECK(s2->hashed_bytes == 0);
  CHECK(s2->changed == 0);
  CHECK(s2->deleted == 0);
  const auto seq_before = db->max_sequence().value();

  // Reopen the database (a restart) and scan again: still nothing read.
  {
    auto db2 = database::open(t.dir / "index.db");
    REQUIRE(db2.ok());
    auto s3 = scan(*root, *db2, *ign, o);
    REQUIRE(s3.ok());
    CHECK(s3->hashed_files == 0);
    CHECK(db2->max_sequence().value() == seq_before);
  }

  // Edit one file, delete another, chmod a third: exactly those change.
  write(folder / "a.txt", "hello, world");
  fs::remove(folder / "sub" / "deeper" / "c.txt");
  ::chmod((folder / "sub" / "b.bin").c_str(), 0600);
  auto s4 = scan(*root, *db, *ign, o);
  REQUIRE(s4.ok());
  CHECK(s4->changed == 2);
  CHECK(s4->deleted == 1);
  CHECK(s4->hashed_files == 2);  // a.txt and the chmod'ed b.bin (its ctime moved)
  auto c = db->get(rp("sub/deeper/c.txt"));
  REQUIRE(c->has_value());
  CHECK((*c)->deleted);
  CHECK((*c)->version.get(7) >= 2);
  auto a = db->get(rp("a.txt"));
  CHECK((*a)->size == 12);
  CHECK((*a)->version.get(7) >= 2);
  CHECK(((*db->get(rp("sub/b.bin")))->mode & 0777) == 0600);

  // Touching a file (new mtime, same content) is a new version (mtime syncs),
  // but a file whose ctime alone moved (same content and mtime) is not.
  const auto seq2 = db->max_sequence().value();
  ::chmod((folder / "a.txt").c_str(), 0644);  // same mode again: ctime moves only
  auto s5 = scan(*root, *db, *ign, o);
  REQUIRE(s5.ok());
  CHECK(s5->changed == 0);
  CHECK(s5->hashed_files == 1);
  CHECK(db->max_sequence().value() == seq2);
}

// A folder and its index, opened for a scanner test (device 7).
struct scan_setup {
  scan_setup(const fs::path& folder, const fs::path& db_file)
      : root(store::root::open(folder)), db(database::open(db_file)) {
    REQUIRE(root.ok());
    REQUIRE(db.ok());
    opts.me = 7;
  }
  result<store::root> root;
  result<database> db;
  scan_options opts;
};

// A symlink is indexed as its target text, never followed: a new target
// is a new version, a link re-created with the same target is not, and a
// link that becomes a file (or goes) is seen by both kinds of scan.
TEST_CASE("scanner: symlinks are indexed by their target, never followed") {
  temp t;
  const fs::path folder = t.dir / "folder";
  fs::create_directories(folder / "d");
  write(folder / "d" / "real.txt", "content");
  fs::create_symlink("d/real.txt", folder / "rel");
  fs::create_symlink("/nowhere/at/all", folder / "dangling");
  fs::create_directory_symlink("d", folder / "dirlink");
  scan_setup setup(folder, t.dir / "index.db");
  auto& root = setup.root;
  auto& db = setup.db;
  const ignore_matcher none;
  const scan_options& o = setup.opts;

  auto s1 = scan(*root, *db, none, o);
  REQUIRE_MESSAGE(s1.ok(), s1.err().message);
  CHECK(s1->files == 4);
  CHECK(s1->hashed_files == 1);  // only real.txt is read
  for (const auto& [name, target] : {std::pair{"rel", "d/real.txt"}, std::pair{"dangling", "/nowhere/at/all"},
                                     std::pair{"dirlink", "d"}}) {
    auto e = db->get(rp(name));
    REQUIRE(e->has_value());
    CHECK((*e)->kind == entry_kind::symlink);
    CHECK((*e)->target == target);
    CHECK((*e)->size == std::string_view(target).size());
    CHECK((*e)->hash == crypto::hash_block(as_bytes(target)));
  }
  CHECK(db->get(rp("dirlink/real.txt"))->has_value() == false);  // not descended into

  // Re-created with the same target: no new version. Retargeted: a new one.
  const auto v_rel = (*db->get(rp("rel")))->version;
  fs::remove(folder / "rel");
  fs::create_symlink("d/real.txt", folder / "rel");
  fs::remove(folder / "dangling");
  fs::create_symlink("elsewhere", folder / "dangling");
  auto s2 = scan(*root, *db, none, o);
  REQUIRE(s2.ok());
  CHECK(s2->changed == 1);
  CHECK((*db->get(rp("rel")))->version == v_rel);
  CHECK((*db->get(rp("dangling")))->target == "elsewhere");

  // A symlink replaced by a file, through scan_paths; one removed.
  fs::remove(folder / "rel");
  write(folder / "rel", "now a file");
  fs::remove(folder / "dirlink");
  auto s3 = scan_paths(*root, *db, none, o, {rp("rel"), rp("dirlink")});
  REQUIRE(s3.ok());
  CHECK(s3->changed == 1);
  CHECK(s3->deleted == 1);
  auto rel = db->get(rp("rel"));
  CHECK((*rel)->kind == entry_kind::file);
  CHECK((*rel)->target.empty());
  CHECK((*db->get(rp("dirlink")))->deleted);

  // The index keeps targets across a reopen.
  auto db2 = database::open(t.dir / "index.db");
  REQUIRE(db2.ok());
  CHECK((*db2->get(rp("dangling")))->target == "elsewhere");
}

// The background mode rescans only what the watcher named: the same
// results as a full scan for those paths, and nothing read or changed
// elsewhere (an edit the watcher did not name waits for the full rescan).
TEST_CASE("scanner: scan_paths rescans only the named paths and what is beneath them") {
  temp t;
  const fs::path folder = t.dir / "folder";
  fs::create_directories(folder / "keep");
  fs::create_directories(folder / "moved" / "inner");
  write(folder / "keep" / "x.txt", "x");
  write(folder / "keep" / "unnamed.txt", "before");
  write(folder / "moved" / "inner" / "y.txt", "y");
  write(folder / "top.txt", "top");
  scan_setup setup(folder, t.dir / "index.db");
  auto& root = setup.root;
  auto& db = setup.db;
  const ignore_matcher none;
  const scan_options& o = setup.opts;
  REQUIRE(scan(*root, *db, none, o).ok());

  // A new file, an edit, a directory renamed, a new directory with content
  // created before any watch saw it, a file replaced by a directory; and one
  // edit the "watcher" does not name.
  write(folder / "keep" / "new.txt", "new");
  write(folder / "keep" / "x.txt", "x, edited");
  write(folder / "keep" / "unnamed.txt", "after, longer");
  fs::rename(folder / "moved", folder / "renamed");
  fs::create_directories(folder / "fresh" / "deep");
  write(folder / "fresh" / "deep" / "z.txt", "z");
  fs::remove(folder / "top.txt");
  fs::create_directories(folder / "top.txt");
  write(folder / "top.txt" / "w.txt", "w");

  const auto s = scan_paths(*root, *db, none, o,
                            {rp("keep/new.txt"), rp("keep/x.txt"), rp("moved"), rp("renamed"),
                             rp("fresh/deep/z.txt"), rp("top.txt"), rp("keep/x.txt")});
  REQUIRE_MESSAGE(s.ok(), s.err().message);
  // Read: new.txt, x.txt, renamed/inner/y.txt, fresh/deep/z.txt (widened to
  // "fresh": its parent is unknown), top.txt/w.txt. Not unnamed.txt.
  CHECK(s->hashed_files == 5);
  CHECK(s->deleted == 3);  // moved, moved/inner, moved/inner/y.txt
  auto live = [&](const char* p) {
    auto e = db->get(rp(p));
    return e.ok() && e->has_value() && !(*e)->deleted;
  };
  CHECK(live("keep/new.txt"));
  CHECK((*db->get(rp("keep/x.txt")))->size == 9);
  CHECK((*db->get(rp("keep/unnamed.txt")))->size == 6);  // not named: unchanged until a full scan
  CHECK_FALSE(live("moved"));
  CHECK_FALSE(live("moved/inner/y.txt"));
  CHECK(live("renamed/inner/y.txt"));
  CHECK(live("fresh"));
  CHECK(live("fresh/deep"));
  CHECK(live("fresh/deep/z.txt"));
  CHECK((*db->get(rp("top.txt")))->kind == entry_kind::directory);
  CHECK(live("top.txt/w.txt"));

  // The full scan then finds only what the watcher did not name.
  const auto full = scan(*root, *db, none, o);
  REQUIRE(full.ok());
  CHECK(full->changed == 1);
  CHECK(full->hashed_files == 1);
  CHECK(full->deleted == 0);

  // A directory removed with its content; the root named: a full scan.
  fs::remove_all(folder / "renamed");
  const auto gone = scan_paths(*root, *db, none, o, {rp("renamed")});
  REQUIRE(gone.ok());
  CHECK(gone->deleted == 3);
  CHECK_FALSE(live("renamed/inner/y.txt"));
  write(folder / "keep" / "unnamed.txt", "again");
  const auto at_root = scan_paths(*root, *db, none, o, {rel_path{}});
  REQUIRE(at_root.ok());
  CHECK(at_root->changed == 1);
  CHECK(at_root->files == 5);  // a full scan walked everything
}
