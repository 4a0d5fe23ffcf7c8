// root: open, stat, list, walk, make_dir, remove_*, rename, set_mtime.
#include "unit/store/store_fixture.hpp"
#include "store/partial_name.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

using ftsync::errc;
using ftsync::rel_path;
using ftsync::store::file_kind;
using ftsync::store::root;
using namespace store_test;

namespace {

void set_mtime_ns(const fs::path& p, std::int64_t ns) {
  struct timespec ts[2];
  ts[0].tv_sec = 0;
  ts[0].tv_nsec = UTIME_OMIT;
  ts[1].tv_sec = ns / 1'000'000'000;
  ts[1].tv_nsec = ns % 1'000'000'000;
  REQUIRE(::utimensat(AT_FDCWD, p.c_str(), ts, AT_SYMLINK_NOFOLLOW) == 0);
}

// a.txt (3 B), b/ {c.txt (5 B), d/, a partial file}, link -> b, z.txt,
// .ftsync-state/ (reserved), and a file whose name is invalid UTF-8.
void build_tree(const temp_tree& t) {
  write_file(t.in_root("a.txt"), "aaa");
  fs::create_directory(t.in_root("b"));
  write_file(t.in_root("b/c.txt"), "ccccc");
  fs::create_directory(t.in_root("b/d"));
  write_file(t.in_root("b/.ftsync.0123456789abcdef.part"), "partial");
  fs::create_symlink("b", t.in_root("link"));
  write_file(t.in_root("z.txt"), "z");
  fs::create_directory(t.in_root(".ftsync-state"));
  write_file(t.in_root("bad\xff" "name"), "x");
  write_file(t.in_root("ctl\x01" "name"), "x");
  set_mtime_ns(t.in_root("a.txt"), 1'600'000'000'123'456'789);
  set_mtime_ns(t.in_root("b/c.txt"), 1'500'000'000'000'000'001);
}

}  // namespace

TEST_CASE("root::open and open_or_create") {
  temp_tree t;
  CHECK(root::open(t.base() / "missing").code() == errc::not_found);
  write_file(t.base() / "file", "x");
  CHECK(root::open(t.base() / "file").code() == errc::not_a_directory);
  CHECK(root::open_or_create(t.base() / "file" / "sub").code() != errc::ok);

  auto created = root::open_or_create(t.base() / "new" / "nested" / "root");
  REQUIRE(created.ok());
  CHECK(fs::is_directory(t.base() / "new" / "nested" / "root"));
  CHECK(created->location() == t.base() / "new" / "nested" / "root");
  // open_or_create of an existing directory just opens it.
  CHECK(root::open_or_create(t.base() / "new").ok());
  auto opened = root::open(t.root_dir());
  REQUIRE(opened.ok());
  CHECK(opened->location().is_absolute());
}

TEST_CASE("root move semantics close the fd exactly once") {
  temp_tree t;
  write_file(t.in_root("f"), "x");
  root a = t.open_root();
  const int fd = a.fd();
  REQUIRE(fd >= 0);
  root b(std::move(a));
  CHECK(a.fd() == -1);  // NOLINT(bugprone-use-after-move): checking the moved-from state
  CHECK(b.fd() == fd);
  CHECK(b.stat(rel("f")).ok());

  root c = t.open_root();
  const int fd_c = c.fd();
  c = std::move(b);  // c's own fd is closed, b's is taken over
  CHECK(c.fd() == fd);
  CHECK(::fcntl(fd_c, F_GETFD) == -1);
  CHECK(c.stat(rel("f")).ok());
  { root d(std::move(c)); }
  CHECK(::fcntl(fd, F_GETFD) == -1);  // closed by d, not twice by anyone
}

TEST_CASE("stat reports kind, size, mtime and mode with lstat semantics") {
  temp_tree t;
  build_tree(t);
  ::chmod(t.in_root("a.txt").c_str(), 0640);
  root r = t.open_root();

  auto a = r.stat(rel("a.txt"));
  REQUIRE(a.ok());
  CHECK(a->name == "a.txt");
  CHECK(a->kind == file_kind::regular);
  CHECK(a->size == 3);
  CHECK(a->mtime_ns == 1'600'000'000'123'456'789);
  CHECK(a->mode == 0640);

  auto c = r.stat(rel("b/c.txt"));
  REQUIRE(c.ok());
  CHECK(c->name == "c.txt");
  CHECK(c->size == 5);
  CHECK(c->mtime_ns == 1'500'000'000'000'000'001);

  auto b = r.stat(rel("b"));
  REQUIRE(b.ok());
  CHECK(b->kind == file_kind::directory);
  CHECK(b->size == 0);

  auto link = r.stat(rel("link"));
  REQUIRE(link.ok());
  CHECK(link->kind == file_kind::symlink);

  auto top = r.stat(rel_path{});
  REQUIRE(top.ok());
  CHECK(top->name.empty());
  CHECK(top->kind == file_kind::directory);

  CHECK(r.stat(rel("missing")).code() == errc::not_found);
  CHECK(r.stat(rel("missing/x")).code() == errc::not_found);
  CHECK(r.stat(rel("a.txt/x")).code() == errc::not_a_directory);
  auto err = r.stat(rel("nope"));
  CHECK(err.err().message.find("nope") != std::string::npos);
}

TEST_CASE("list is sorted, lstat'ed, and hides reserved and unrepresentable names") {
  temp_tree t;
  build_tree(t);
  root r = t.open_root();
  auto top = r.list(rel_path{});
  REQUIRE(top.ok());
  std::vector<std::string> names;
  for (const auto& e : *top) names.push_back(e.name);
  CHECK(names == std::vector<std::string>{"a.txt", "b", "link", "z.txt"});
  REQUIRE(top->size() == 4);
  CHECK((*top)[0].kind == file_kind::regular);
  CHECK((*top)[0].size == 3);
  CHECK((*top)[0].mtime_ns == 1'600'000'000'123'456'789);
  CHECK((*top)[1].kind == file_kind::directory);
  CHECK((*top)[2].kind == file_kind::symlink);

  auto b = r.list(rel("b"));
  REQUIRE(b.ok());
  REQUIRE(b->size() == 2);  // the partial file is hidden
  CHECK((*b)[0].name == "c.txt");
  CHECK((*b)[1].name == "d");
  CHECK((*b)[1].kind == file_kind::directory);

  CHECK(r.list(rel("b/d"))->empty());
  CHECK(r.list(rel("a.txt")).code() == errc::not_a_directory);
  CHECK(r.list(rel("missing")).code() == errc::not_found);
}

TEST_CASE("walk is depth-first pre-order, sorted, root-relative, and never follows symlinks") {
  temp_tree t;
  build_tree(t);
  root r = t.open_root();
  auto w = r.walk(rel_path{});
  REQUIRE(w.ok());
  std::vector<std::string> paths;
  std::vector<file_kind> kinds;
  for (const auto& e : *w) {
    paths.push_back(e.path.str());
    kinds.push_back(e.info.kind);
  }
  CHECK(paths == std::vector<std::string>{"", "a.txt", "b", "b/c.txt", "b/d", "link", "z.txt"});
  CHECK(kinds == std::vector<file_kind>{file_kind::directory, file_kind::regular, file_kind::directory,
                                        file_kind::regular, file_kind::directory, file_kind::symlink,
                                        file_kind::regular});
  CHECK((*w)[3].info.size == 5);
  CHECK((*w)[3].info.mtime_ns == 1'500'000'000'000'000'001);

  auto sub = r.walk(rel("b"));
  REQUIRE(sub.ok());
  REQUIRE(sub->size() == 3);
  CHECK((*sub)[0].path.str() == "b");
  CHECK((*sub)[1].path.str() == "b/c.txt");
  CHECK((*sub)[2].path.str() == "b/d");

  auto file = r.walk(rel("a.txt"));
  REQUIRE(file.ok());
  REQUIRE(file->size() == 1);
  CHECK((*file)[0].info.kind == file_kind::regular);

  auto link = r.walk(rel("link"));  // reported, not descended into
  REQUIRE(link.ok());
  REQUIRE(link->size() == 1);
  CHECK((*link)[0].info.kind == file_kind::symlink);

  CHECK(r.walk(rel("missing")).code() == errc::not_found);
}

TEST_CASE("walk and remove_tree bound their recursion depth") {
  temp_tree t;
  root r = t.open_root();
  std::string deep = "n";
  for (int i = 1; i < 100; ++i) deep += "/n";
  REQUIRE(r.make_dir(rel(deep), true).ok());
  auto ok_walk = r.walk(rel_path{});
  REQUIRE(ok_walk.ok());
  CHECK(ok_walk->size() == 101);

  std::string too_deep = deep;
  for (int i = 0; i < 160; ++i) too_deep += "/n";  // 260 levels
  REQUIRE(r.make_dir(rel(too_deep), true).ok());
  CHECK(r.walk(rel_path{}).code() == errc::too_deep);
  CHECK(r.remove_tree(rel("n")).code() == errc::too_deep);
  // Walking from deeper down is fine: the bound is relative to the start.
  CHECK(r.walk(rel(deep)).ok());
}

TEST_CASE("make_dir with and without parents") {
  temp_tree t;
  write_file(t.in_root("file"), "x");
  root r = t.open_root();
  CHECK(r.make_dir(rel("x"), false).ok());
  CHECK(fs::is_directory(t.in_root("x")));
  CHECK(r.make_dir(rel("x"), false).code() == errc::already_exists);
  CHECK(r.make_dir(rel("x"), true).ok());
  CHECK(r.make_dir(rel("p/q/r"), false).code() == errc::not_found);
  CHECK(r.make_dir(rel("p/q/r"), true).ok());
  CHECK(fs::is_directory(t.in_root("p/q/r")));
  CHECK(r.make_dir(rel("p/q/r"), true).ok());
  CHECK(r.make_dir(rel("file"), true).code() == errc::already_exists);
  CHECK(r.make_dir(rel("file"), false).code() == errc::already_exists);
  CHECK(r.make_dir(rel("file/sub"), true).code() == errc::already_exists);
  CHECK(r.make_dir(rel("file/sub"), false).code() == errc::not_a_directory);
  CHECK(r.make_dir(rel_path{}, true).ok());
  CHECK(r.make_dir(rel_path{}, false).code() == errc::already_exists);

  REQUIRE(r.make_dir(rel("private"), false, 0700).ok());
  CHECK(r.stat(rel("private"))->mode == 0700);
}

TEST_CASE("remove_dir, remove_file and remove_tree") {
  temp_tree t;
  build_tree(t);
  root r = t.open_root();

  CHECK(r.remove_dir(rel("b")).code() == errc::not_empty);
  CHECK(r.remove_dir(rel("a.txt")).code() == errc::not_a_directory);
  CHECK(r.remove_dir(rel("missing")).code() == errc::not_found);
  CHECK(r.remove_dir(rel_path{}).code() == errc::invalid_argument);
  CHECK(r.remove_dir(rel("b/d")).ok());
  CHECK_FALSE(fs::exists(t.in_root("b/d")));

  CHECK(r.remove_file(rel("b")).code() == errc::is_a_directory);
  CHECK(r.remove_file(rel("missing")).code() == errc::not_found);
  CHECK(r.remove_file(rel("z.txt")).ok());
  CHECK_FALSE(fs::exists(t.in_root("z.txt")));
  // Removing a symlink removes the link, not what it points to.
  CHECK(r.remove_file(rel("link")).ok());
  CHECK_FALSE(fs::is_symlink(t.in_root("link")));
  CHECK(fs::exists(t.in_root("b/c.txt")));

  // remove_tree: a tree holding a symlink to a directory elsewhere in the
  // root, and one to outside; both targets survive.
  REQUIRE(r.make_dir(rel("tree/x/y"), true).ok());
  write_file(t.in_root("tree/x/y/f"), "f");
  write_file(t.in_root("tree/g"), "g");
  fs::create_symlink("../../b", t.in_root("tree/x/to_b"));
  fs::create_symlink(t.outside(), t.in_root("tree/to_outside"));
  CHECK(r.remove_tree(rel("tree")).ok());
  CHECK_FALSE(fs::exists(t.in_root("tree")));
  CHECK(read_file(t.in_root("b/c.txt")) == "ccccc");
  CHECK(fs::exists(t.in_root("b/.ftsync.0123456789abcdef.part")));
  CHECK(r.remove_tree(rel("a.txt")).ok());  // a file is just unlinked
  CHECK_FALSE(fs::exists(t.in_root("a.txt")));
  CHECK(r.remove_tree(rel("missing")).code() == errc::not_found);
  CHECK(r.remove_tree(rel_path{}).code() == errc::invalid_argument);
  // Reserved entries inside the tree go too (the directory must end up empty).
  CHECK(r.remove_tree(rel("b")).ok());
  CHECK_FALSE(fs::exists(t.in_root("b")));
  t.check_outside_unchanged();
}

TEST_CASE("rename follows rename(2) semantics within the root") {
  temp_tree t;
  build_tree(t);
  root r = t.open_root();

  CHECK(r.rename(rel("a.txt"), rel("b/d/moved.txt")).ok());
  CHECK(read_file(t.in_root("b/d/moved.txt")) == "aaa");
  CHECK_FALSE(fs::exists(t.in_root("a.txt")));

  // Replacing an existing file.
  CHECK(r.rename(rel("z.txt"), rel("b/c.txt")).ok());
  CHECK(read_file(t.in_root("b/c.txt")) == "z");

  // Directories.
  CHECK(r.rename(rel("b/d"), rel("dd")).ok());
  CHECK(fs::exists(t.in_root("dd/moved.txt")));
  CHECK(r.rename(rel("dd"), rel("dd/sub")).code() == errc::invalid_argument);
  CHECK(r.rename(rel("dd"), rel("dd/sub/deeper")).code() == errc::invalid_argument);
  CHECK(r.rename(rel("b"), rel("dd")).code() == errc::not_empty);
  REQUIRE(r.make_dir(rel("empty"), false).ok());
  CHECK(r.rename(rel("b/c.txt"), rel("empty")).code() == errc::is_a_directory);
  CHECK(r.rename(rel("empty"), rel("dd/moved.txt")).code() == errc::not_a_directory);
  CHECK(r.rename(rel("b"), rel("empty")).ok());  // an empty directory is replaced
  CHECK(fs::exists(t.in_root("empty/c.txt")));

  CHECK(r.rename(rel("missing"), rel("x")).code() == errc::not_found);
  CHECK(r.rename(rel("dd"), rel("no/such/parent")).code() == errc::not_found);
  CHECK(r.rename(rel_path{}, rel("x")).code() == errc::invalid_argument);
  CHECK(r.rename(rel("dd"), rel_path{}).code() == errc::invalid_argument);
  // A name starting like its sibling is not inside it.
  CHECK(r.rename(rel("dd"), rel("dd2")).ok());
  // A symlink is renamed as itself.
  CHECK(r.rename(rel("link"), rel("link2")).ok());
  CHECK(fs::is_symlink(t.in_root("link2")));
}

TEST_CASE("set_mtime sets nanoseconds and does not follow symlinks") {
  temp_tree t;
  build_tree(t);
  root r = t.open_root();
  CHECK(r.set_mtime(rel("b/c.txt"), 1'234'567'890'123'456'789).ok());
  CHECK(r.stat(rel("b/c.txt"))->mtime_ns == 1'234'567'890'123'456'789);
  CHECK(lstat_mtime_ns(t.in_root("b/c.txt")) == 1'234'567'890'123'456'789);

  // Before 1970: -1.5 s must round-trip (floor division of the timespec).
  CHECK(r.set_mtime(rel("z.txt"), -1'500'000'000).ok());
  CHECK(r.stat(rel("z.txt"))->mtime_ns == -1'500'000'000);

  const auto b_before = lstat_mtime_ns(t.in_root("b"));
  CHECK(r.set_mtime(rel("link"), 1'000'000'000'000'000'000).ok());
  CHECK(lstat_mtime_ns(t.in_root("link")) == 1'000'000'000'000'000'000);
  CHECK(lstat_mtime_ns(t.in_root("b")) == b_before);

  CHECK(r.set_mtime(rel_path{}, 1'100'000'000'000'000'000).ok());
  CHECK(lstat_mtime_ns(t.root_dir()) == 1'100'000'000'000'000'000);
  CHECK(r.set_mtime(rel("missing"), 0).code() == errc::not_found);
}

TEST_CASE("read_link and make_symlink: targets verbatim, atomic replace, never through a symlink") {
  temp_tree t;
  build_tree(t);
  root r = t.open_root();
  CHECK(r.read_link(rel("link")).value() == "b");
  CHECK(r.read_link(rel("a.txt")).code() == errc::not_regular_file);
  CHECK(r.read_link(rel("missing")).code() == errc::not_found);
  CHECK(r.read_link(rel("link/c.txt")).code() == errc::path_escapes_root);

  // New, over a file, over a symlink; absolute and dangling targets kept as text.
  REQUIRE(r.make_symlink(rel("b/new"), "../a.txt").ok());
  CHECK(fs::read_symlink(t.in_root("b/new")) == "../a.txt");
  REQUIRE(r.make_symlink(rel("z.txt"), "/etc/passwd").ok());
  CHECK(fs::read_symlink(t.in_root("z.txt")) == "/etc/passwd");
  REQUIRE(r.make_symlink(rel("link"), "nowhere").ok());
  CHECK(fs::read_symlink(t.in_root("link")) == "nowhere");
  CHECK(r.stat(rel("z.txt"))->kind == file_kind::symlink);
  // A crash between the two steps leaves the temp link: the next call replaces it.
  std::string temp = ftsync::store::partial_name_for("new");
  temp.replace(temp.size() - 5, 5, ".link");
  fs::create_symlink("stale", t.in_root("b") / temp);
  REQUIRE(r.make_symlink(rel("b/new"), "fresh").ok());
  CHECK(fs::read_symlink(t.in_root("b/new")) == "fresh");

  // Refused: a directory in the way, the root, bad targets, a path through a symlink.
  CHECK(r.make_symlink(rel("b/d"), "x").code() == errc::is_a_directory);
  CHECK(fs::is_directory(fs::symlink_status(t.in_root("b/d"))));
  CHECK(r.make_symlink(rel_path{}, "x").code() == errc::invalid_argument);
  CHECK(r.make_symlink(rel("e"), "").code() == errc::invalid_argument);
  CHECK(r.make_symlink(rel("e"), std::string("a\0b", 3)).code() == errc::invalid_argument);
  CHECK(r.make_symlink(rel("e"), std::string(4096, 'x')).code() == errc::invalid_argument);
  fs::create_directory_symlink(t.base(), t.in_root("out"));
  CHECK(r.make_symlink(rel("out/planted"), "x").code() == errc::path_escapes_root);
  CHECK_FALSE(fs::exists(fs::symlink_status(t.base() / "planted")));

  // No temp link is left behind by any of the above.
  for (const auto& dir : {t.root_dir(), t.in_root("b")})
    for (const auto& de : fs::directory_iterator(dir))
      CHECK(de.path().filename().string().find(".link") == std::string::npos);
}
