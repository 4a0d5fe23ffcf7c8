// partial_file: resume, locking, atomic commit, discard; clean_partials.
#include "unit/store/store_fixture.hpp"

#include "store/partial_name.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>

using ftsync::as_bytes;
using ftsync::byte;
using ftsync::errc;
using ftsync::rel_path;
using ftsync::store::partial_file;
using namespace store_test;

namespace {

std::string read_all(const ftsync::store::partial_file& p, std::size_t n) {
  std::vector<byte> buf(n);
  auto got = p.read_at(0, buf);
  REQUIRE(got.ok());
  return std::string(reinterpret_cast<const char*>(buf.data()), *got);
}

void age_file(const fs::path& p, std::int64_t seconds) {
  struct timespec ts[2];
  ts[0].tv_sec = 0;
  ts[0].tv_nsec = UTIME_OMIT;
  ts[1].tv_sec = std::time(nullptr) - seconds;
  ts[1].tv_nsec = 0;
  REQUIRE(::utimensat(AT_FDCWD, p.c_str(), ts, AT_SYMLINK_NOFOLLOW) == 0);
}

}  // namespace

TEST_CASE("partial names: FNV-1a 64 of the final name, fixed shape") {
  using ftsync::store::fnv1a_64;
  using ftsync::store::is_partial_name;
  using ftsync::store::partial_name_for;
  // Reference vectors of FNV-1a 64 (Fowler/Noll/Vo test suite).
  CHECK(fnv1a_64("") == 0xcbf29ce484222325ull);
  CHECK(fnv1a_64("a") == 0xaf63dc4c8601ec8cull);
  CHECK(fnv1a_64("foobar") == 0x85944171f73967e8ull);
  CHECK(partial_name_for("a") == ".ftsync.af63dc4c8601ec8c.part");
  CHECK(partial_name_for(std::string(255, 'x')).size() == 29);
  CHECK(is_partial_name(".ftsync.af63dc4c8601ec8c.part"));
  CHECK_FALSE(is_partial_name(".ftsync.AF63DC4C8601EC8C.part"));
  CHECK_FALSE(is_partial_name(".ftsync.af63dc4c8601ec8.part"));
  CHECK_FALSE(is_partial_name(".ftsync-state"));
  CHECK_FALSE(is_partial_name("x.ftsync.af63dc4c8601ec8c.part"));
}

TEST_CASE("partial_file: write half, close, resume, commit with exact mode and mtime") {
  temp_tree t;
  auto r = t.open_root();
  REQUIRE(r.make_dir(rel("dir"), false).ok());
  const fs::path temp = t.in_root("dir/" + ftsync::store::partial_name_for("f.bin"));
  {
    auto p = r.open_partial(rel("dir/f.bin"));
    REQUIRE(p.ok());
    CHECK(p->existing_size() == 0);
    CHECK(p->write_at(0, as_bytes("first half|")).ok());
    CHECK(p->existing_size() == 11);
  }  // destroyed without commit: the data stays for a resume
  REQUIRE(fs::is_regular_file(temp));
  struct stat st {};
  REQUIRE(::stat(temp.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  CHECK_FALSE(fs::exists(t.in_root("dir/f.bin")));
  CHECK(r.list(rel("dir"))->empty());  // hidden while in progress

  auto p = r.open_partial(rel("dir/f.bin"));
  REQUIRE(p.ok());
  CHECK(p->existing_size() == 11);
  CHECK(read_all(*p, 64) == "first half|");
  CHECK(p->write_at(11, as_bytes("second half")).ok());
  const std::int64_t mtime = 1'650'000'000'987'654'321;
  CHECK(p->commit(mtime, 0100640).ok());  // type bits are ignored
  CHECK_FALSE(fs::exists(temp));
  CHECK(read_file(t.in_root("dir/f.bin")) == "first half|second half");
  auto info = r.stat(rel("dir/f.bin"));
  REQUIRE(info.ok());
  CHECK(info->mode == 0640);
  CHECK(info->mtime_ns == mtime);
  CHECK(info->size == 22);

  // Inert afterwards: errors, no abort.
  CHECK(p->write_at(0, as_bytes("x")).code() == errc::internal);
  CHECK(p->commit(0, 0644).code() == errc::internal);
  CHECK(p->discard().code() == errc::internal);
  CHECK(p->truncate(0).code() == errc::internal);
  std::vector<byte> buf(4);
  CHECK(p->read_at(0, buf).code() == errc::internal);
  CHECK(p->existing_size() == 0);
  CHECK(read_file(t.in_root("dir/f.bin")) == "first half|second half");
}

TEST_CASE("partial_file: setuid bits never survive commit") {
  temp_tree t;
  auto r = t.open_root();
  auto p = r.open_partial(rel("s"));
  REQUIRE(p.ok());
  CHECK(p->commit(0, 06755).ok());
  CHECK(r.stat(rel("s"))->mode == 0755);
}

TEST_CASE("partial_file: truncate, sparse writes and move") {
  temp_tree t;
  auto r = t.open_root();
  auto p = r.open_partial(rel("t"));
  REQUIRE(p.ok());
  CHECK(p->write_at(4, as_bytes("data")).ok());
  CHECK(p->existing_size() == 8);
  CHECK(read_all(*p, 8) == std::string("\0\0\0\0data", 8));
  CHECK(p->truncate(2).ok());
  CHECK(p->existing_size() == 2);
  CHECK(p->write_at(~std::uint64_t{0} - 1, as_bytes("xyz")).code() == errc::invalid_argument);
  CHECK(p->truncate(~std::uint64_t{0}).code() == errc::invalid_argument);

  partial_file moved(std::move(p.value()));
  CHECK(moved.existing_size() == 2);
  CHECK(p->write_at(0, as_bytes("x")).code() == errc::internal);  // NOLINT(bugprone-use-after-move)
  CHECK(moved.commit(0, 0644).ok());
  CHECK(r.stat(rel("t"))->size == 2);
}

TEST_CASE("partial_file: a second open is busy until the first is closed") {
  temp_tree t;
  auto r = t.open_root();
  auto first = r.open_partial(rel("f"));
  REQUIRE(first.ok());
  CHECK(r.open_partial(rel("f")).code() == errc::busy);
  CHECK(r.open_partial(rel("other")).ok());  // other targets are independent
  { auto gone = std::move(first.value()); }
  CHECK(r.open_partial(rel("f")).ok());
}

TEST_CASE("partial_file: discard deletes the temp file only") {
  temp_tree t;
  write_file(t.in_root("f"), "old");
  auto r = t.open_root();
  auto p = r.open_partial(rel("f"));
  REQUIRE(p.ok());
  CHECK(p->write_at(0, as_bytes("new data")).ok());
  CHECK(p->discard().ok());
  CHECK(read_file(t.in_root("f")) == "old");
  CHECK_FALSE(fs::exists(t.in_root(ftsync::store::partial_name_for("f"))));
  CHECK(p->discard().code() == errc::internal);
  CHECK(p->write_at(0, as_bytes("x")).code() == errc::internal);
  auto again = r.open_partial(rel("f"));  // fresh start, lock released
  REQUIRE(again.ok());
  CHECK(again->existing_size() == 0);
}

TEST_CASE("partial_file: commit replaces an existing file atomically") {
  temp_tree t;
  write_file(t.in_root("f"), "old content");
  auto r = t.open_root();
  auto before = r.open_read(rel("f"));
  REQUIRE(before.ok());
  auto p = r.open_partial(rel("f"));
  REQUIRE(p.ok());
  CHECK(p->write_at(0, as_bytes("new")).ok());
  CHECK(read_file(t.in_root("f")) == "old content");  // untouched until commit
  CHECK(p->commit(1'000'000'000, 0644).ok());
  CHECK(read_file(t.in_root("f")) == "new");
  // A reader opened before still sees the complete old file: the name was
  // switched to a new inode, the old one was never written.
  std::vector<byte> buf(32);
  auto n = before->read_at(0, buf);
  REQUIRE(n.ok());
  CHECK(std::string(reinterpret_cast<const char*>(buf.data()), *n) == "old content");
}

TEST_CASE("partial_file: directories as targets") {
  temp_tree t;
  auto r = t.open_root();
  REQUIRE(r.make_dir(rel("d/sub"), true).ok());
  CHECK(r.open_partial(rel("d")).code() == errc::is_a_directory);
  CHECK(r.open_partial(rel_path{}).code() == errc::is_a_directory);
  CHECK(r.open_partial(rel("missing/f")).code() == errc::not_found);

  // The target becomes a non-empty directory between open and commit: the
  // commit fails, the object stays usable and can be discarded.
  auto p = r.open_partial(rel("late"));
  REQUIRE(p.ok());
  REQUIRE(r.make_dir(rel("late/x"), true).ok());
  CHECK(p->commit(0, 0644).code() == errc::is_a_directory);
  CHECK(p->write_at(0, as_bytes("still usable")).ok());
  CHECK(p->discard().ok());
  CHECK(fs::is_directory(t.in_root("late/x")));
}

TEST_CASE("partial_file: a symlink at the final path is replaced, never written through (D3)") {
  temp_tree t;
  fs::create_symlink(t.outside() / "secret", t.in_root("victim"));
  fs::create_symlink("../outside/secret", t.in_root("victim_rel"));
  auto r = t.open_root();
  for (const char* name : {"victim", "victim_rel"}) {
    auto p = r.open_partial(rel(name));
    REQUIRE(p.ok());
    CHECK(p->existing_size() == 0);
    CHECK(p->write_at(0, as_bytes("pwned?")).ok());
    CHECK(p->commit(1'000'000'000, 0644).ok());
    CHECK_FALSE(fs::is_symlink(t.in_root(name)));
    CHECK(read_file(t.in_root(name)) == "pwned?");
  }
  t.check_outside_unchanged();
}

TEST_CASE("partial_file: planted temp files (symlink, hard link, FIFO) are never opened") {
  temp_tree t;
  const std::string temp = ftsync::store::partial_name_for("f");
  auto r = t.open_root();

  fs::create_symlink(t.outside() / "secret", t.in_root(temp));
  {
    auto p = r.open_partial(rel("f"));
    REQUIRE(p.ok());
    CHECK(p->existing_size() == 0);
    CHECK(p->write_at(0, as_bytes("via symlink?")).ok());
    CHECK(p->commit(0, 0644).ok());
  }
  // A hard link to an outside file (same filesystem) under the temp name:
  // writing into it would change the outside file's inode.
  fs::create_hard_link(t.outside() / "secret", t.in_root(temp));
  {
    auto p = r.open_partial(rel("f"));
    REQUIRE(p.ok());
    CHECK(p->existing_size() == 0);
    CHECK(p->write_at(0, as_bytes("via hard link?")).ok());
    CHECK(p->commit(0, 0644).ok());
  }
  REQUIRE(::mkfifo(t.in_root(temp).c_str(), 0600) == 0);
  {
    auto p = r.open_partial(rel("f"));
    REQUIRE(p.ok());
    CHECK(p->write_at(0, as_bytes("via fifo?")).ok());
    CHECK(p->commit(0, 0644).ok());
  }
  CHECK(read_file(t.in_root("f")) == "via fifo?");
  fs::create_directory(t.in_root(temp));
  CHECK(r.open_partial(rel("f")).code() == errc::is_a_directory);
  t.check_outside_unchanged();
}

TEST_CASE("clean_partials removes old unlocked partial files, recursively") {
  temp_tree t;
  using ftsync::store::partial_name_for;
  auto r = t.open_root();
  REQUIRE(r.make_dir(rel("a/b"), true).ok());
  const auto make_partial = [&](const std::string& target) {
    auto p = r.open_partial(rel(target));
    REQUIRE(p.ok());
    REQUIRE(p->write_at(0, as_bytes("partial data")).ok());
  };
  make_partial("a/b/x");
  const fs::path stale = t.in_root("a/b/" + partial_name_for("x"));
  age_file(stale, 7200);
  make_partial("a/y");
  const fs::path fresh = t.in_root("a/" + partial_name_for("y"));
  auto held = r.open_partial(rel("z"));  // in use: locked, but old
  REQUIRE(held.ok());
  const fs::path locked = t.in_root(partial_name_for("z"));
  age_file(locked, 7200);

  // Things that must survive whatever their age.
  fs::create_directory(t.in_root(".ftsync-state"));
  const fs::path in_reserved = t.in_root(".ftsync-state/" + partial_name_for("q"));
  write_file(in_reserved, "state");
  const fs::path odd_name = t.in_root(".ftsync.notahash.part");
  write_file(odd_name, "x");
  const fs::path plain = t.in_root("keep.part");
  write_file(plain, "x");
  const fs::path link_named = t.in_root("a/" + partial_name_for("w"));
  fs::create_symlink(t.outside() / "secret", link_named);
  const fs::path other = t.base() / "other";
  fs::create_directory(other);
  const fs::path beyond = other / partial_name_for("v");
  write_file(beyond, "beyond the root");
  fs::create_symlink(other, t.in_root("lnk"));
  for (const auto& p : {in_reserved, odd_name, plain, link_named, beyond}) age_file(p, 7200);

  CHECK(r.clean_partials(rel_path{}, 3600).ok());
  CHECK_FALSE(fs::exists(stale));
  CHECK(fs::exists(fresh));
  CHECK(fs::exists(locked));
  for (const auto& p : {in_reserved, odd_name, plain, beyond}) CHECK_MESSAGE(fs::exists(p), p);
  CHECK(fs::is_symlink(link_named));

  CHECK(r.clean_partials(rel("a"), 0).ok());
  CHECK_FALSE(fs::exists(fresh));
  CHECK(fs::exists(locked));
  CHECK(held->commit(0, 0644).ok());  // the held transfer was not disturbed
  CHECK(r.clean_partials(rel("lnk"), 0).code() == ftsync::errc::path_escapes_root);
  CHECK(r.clean_partials(rel_path{}, -1).code() == errc::invalid_argument);
  CHECK(r.clean_partials(rel_path{}, std::int64_t{1} << 62).ok());  // no overflow
  CHECK(fs::exists(beyond));
  t.check_outside_unchanged();
}

TEST_CASE("commit_together: many files, several directories, one failure kept apart") {
  temp_tree t;
  auto r = t.open_root();
  REQUIRE(r.make_dir(rel("a"), false).ok());
  REQUIRE(r.make_dir(rel("b/c"), true).ok());
  write_file(t.in_root("a/old.txt"), "old");
  const std::vector<std::string> names = {"a/1.txt", "a/old.txt", "b/2.txt", "late", "b/c/3.txt", "top.txt"};
  std::vector<partial_file> files;
  for (const auto& n : names) {
    auto p = r.open_partial(rel(n));
    REQUIRE(p.ok());
    REQUIRE(p->write_at(0, as_bytes("content of " + n)).ok());
    files.push_back(std::move(*p));
  }
  // "late" becomes a non-empty directory before the commit: only it fails.
  REQUIRE(r.make_dir(rel("late/x"), true).ok());
  std::vector<ftsync::store::commit_item> items;
  for (std::size_t i = 0; i < files.size(); ++i)
    items.push_back({&files[i], 1'600'000'000'000'000'000 + static_cast<std::int64_t>(i), 0640});
  const auto results = ftsync::store::commit_together(items, [] {});
  REQUIRE(results.size() == names.size());
  for (std::size_t i = 0; i < names.size(); ++i) {
    CAPTURE(names[i]);
    if (names[i] == "late") {
      CHECK(results[i].code() == errc::is_a_directory);
      continue;
    }
    CHECK(results[i].ok());
    CHECK(read_file(t.in_root(names[i])) == "content of " + names[i]);
    const fs::path target = t.in_root(names[i]);
    CHECK_FALSE(fs::exists(target.parent_path() / ftsync::store::partial_name_for(target.filename().string())));
    auto info = r.stat(rel(names[i]));
    REQUIRE(info.ok());
    CHECK(info->mode == 0640);
    CHECK(info->mtime_ns == 1'600'000'000'000'000'000 + static_cast<std::int64_t>(i));
  }
  // The failed one is still a partial file: usable, and discardable.
  CHECK(files[3].write_at(0, as_bytes("still usable")).ok());
  CHECK(files[3].discard().ok());
  // The committed ones are inert; a second commit of them is refused, not repeated.
  const auto again = ftsync::store::commit_together(std::span(items).first(1));
  CHECK(again.front().code() == errc::internal);
  CHECK(read_file(t.in_root("a/1.txt")) == "content of a/1.txt");
}
