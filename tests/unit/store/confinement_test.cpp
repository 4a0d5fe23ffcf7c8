// Confinement (research/security.md D1, D2, D4, D9), for both resolution
// strategies: openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) and the
// O_NOFOLLOW component walk used on kernels without openat2.
#include "unit/store/store_fixture.hpp"

#include <vector>

using ftsync::as_bytes;
using ftsync::errc;
using ftsync::rel_path;
using ftsync::store::file_kind;
using ftsync::store::resolve_strategy;
using namespace store_test;

namespace {

std::vector<resolve_strategy> strategies_to_test() {
  std::vector<resolve_strategy> out{resolve_strategy::component_walk};
  if (ftsync::store::openat2_supported())
    out.push_back(resolve_strategy::openat2);
  else
    MESSAGE("openat2 is not implemented by this kernel: only the component walk is tested");
  return out;
}

// Every operation that goes *through* the symlink `link` must be refused
// with path_escapes_root. `file` and `dir` exist beneath the link's target.
void check_refused_through(ftsync::store::root& r, const std::string& link, const std::string& file,
                           const std::string& dir) {
  INFO("through " << link);
  const auto through = [&](const std::string& tail) { return rel(link + "/" + tail); };
  const auto escapes = errc::path_escapes_root;

  auto st = r.stat(through(file));
  CHECK(st.code() == escapes);
  if (!st) CHECK(st.err().message.find(link + "/" + file) != std::string::npos);
  CHECK(r.stat(through(dir)).code() == escapes);
  CHECK(r.list(rel(link)).code() == escapes);
  CHECK(r.list(through(dir)).code() == escapes);
  CHECK(r.walk(through(dir)).code() == escapes);
  CHECK(r.open_read(through(file)).code() == escapes);
  CHECK(r.make_dir(through("newdir"), false).code() == escapes);
  CHECK(r.make_dir(through("newdir"), true).code() == escapes);
  CHECK(r.make_dir(through("a/b/c"), true).code() == escapes);
  CHECK(r.remove_file(through(file)).code() == escapes);
  CHECK(r.remove_dir(through(dir)).code() == escapes);
  CHECK(r.remove_tree(through(dir)).code() == escapes);
  CHECK(r.remove_tree(through(file)).code() == escapes);
  CHECK(r.rename(through(file), rel("stolen")).code() == escapes);
  CHECK(r.rename(rel("local"), through("planted")).code() == escapes);
  CHECK(r.set_mtime(through(file), 0).code() == escapes);
  CHECK(r.open_partial(through("evil")).code() == escapes);
  CHECK(r.open_partial(through(file)).code() == escapes);
  CHECK(r.clean_partials(rel(link), 0).code() == escapes);

  // The link itself is an entry of the root: lstat sees it, reading it is
  // "not a regular file", walking reports it without descending.
  auto self = r.stat(rel(link));
  REQUIRE(self.ok());
  CHECK(self->kind == file_kind::symlink);
  CHECK(r.open_read(rel(link)).code() == errc::not_regular_file);
  auto w = r.walk(rel(link));
  REQUIRE(w.ok());
  CHECK(w->size() == 1);
}

}  // namespace

TEST_CASE("symlinks beneath the root are never followed, with either strategy (D2)") {
  for (const auto strategy : strategies_to_test()) {
    const std::string strategy_text = strategy_name(strategy);
    CAPTURE(strategy_text);
    temp_tree t;
    fs::create_symlink("../outside", t.in_root("sub"));   // relative escape
    fs::create_symlink(t.outside(), t.in_root("abs"));    // absolute escape
    fs::create_directory(t.in_root("realdir"));
    fs::create_directory(t.in_root("realdir/inner"));
    write_file(t.in_root("realdir/f"), "inside");
    fs::create_symlink("realdir", t.in_root("in_root"));  // stays inside, still refused
    fs::create_symlink("../..", t.in_root("realdir/up"));  // a symlink deeper down
    fs::create_symlink("/", t.in_root("realdir/slash"));
    write_file(t.in_root("local"), "local");
    const auto inside_before = snapshot(t.in_root("realdir"));

    strategy_guard guard(strategy);
    const auto before = ftsync::store::get_resolve_counters();
    auto r = t.open_root();
    check_refused_through(r, "sub", "secret", "inner");
    check_refused_through(r, "abs", "inner/deep", "inner");
    check_refused_through(r, "in_root", "f", "inner");
    check_refused_through(r, "realdir/up", "outside/secret", "outside");
    CHECK(r.stat(rel("realdir/slash/etc/passwd")).code() == errc::path_escapes_root);
    CHECK(r.open_read(rel("realdir/slash/etc/passwd")).code() == errc::path_escapes_root);

    // A walk of the whole root lists the links and nothing beneath them.
    auto w = r.walk(rel_path{});
    REQUIRE(w.ok());
    const auto beneath = [](const rel_path& p, const char* link) {
      return p.starts_with(rel(link)) && p != rel(link);
    };
    std::vector<std::string> paths;
    for (const auto& e : *w) {
      paths.push_back(e.path.str());
      for (const char* link : {"sub", "abs", "in_root", "realdir/up", "realdir/slash"})
        CHECK_MESSAGE(!beneath(e.path, link), e.path.str());
      if (e.path == rel("sub")) CHECK(e.info.kind == file_kind::symlink);
    }
    CHECK(paths == std::vector<std::string>{"", "abs", "in_root", "local", "realdir", "realdir/f",
                                            "realdir/inner", "realdir/slash", "realdir/up", "sub"});

    // The requested strategy really did the resolving.
    const auto after = ftsync::store::get_resolve_counters();
    if (strategy == resolve_strategy::openat2) {
      CHECK(after.openat2 > before.openat2);
      CHECK(after.component_walk == before.component_walk);
    } else {
      CHECK(after.component_walk > before.component_walk);
      CHECK(after.openat2 == before.openat2);
    }

    // Removing a link removes the link only.
    CHECK(r.remove_tree(rel("sub")).ok());
    CHECK(r.remove_file(rel("abs")).ok());
    CHECK(r.remove_tree(rel("in_root")).ok());
    CHECK_FALSE(fs::exists(t.in_root("sub")));
    CHECK(fs::exists(t.in_root("realdir/f")));
    CHECK(snapshot(t.in_root("realdir")) == inside_before);
    t.check_outside_unchanged();
  }
}

TEST_CASE("automatic strategy uses openat2 when the kernel has it") {
  temp_tree t;
  fs::create_directory(t.in_root("d"));
  auto r = t.open_root();
  const auto before = ftsync::store::get_resolve_counters();
  CHECK(r.stat(rel("d/x")).code() == errc::not_found);
  const auto after = ftsync::store::get_resolve_counters();
  if (ftsync::store::openat2_supported())
    CHECK(after.openat2 == before.openat2 + 1);
  else
    CHECK(after.component_walk == before.component_walk + 1);
}

TEST_CASE("non-directories in the middle of a path, with either strategy") {
  for (const auto strategy : strategies_to_test()) {
    const std::string strategy_text = strategy_name(strategy);
    CAPTURE(strategy_text);
    temp_tree t;
    write_file(t.in_root("file"), "x");
    REQUIRE(::mkfifo(t.in_root("fifo").c_str(), 0644) == 0);
    strategy_guard guard(strategy);
    auto r = t.open_root();
    CHECK(r.stat(rel("file/x")).code() == errc::not_a_directory);
    CHECK(r.list(rel("file")).code() == errc::not_a_directory);
    CHECK(r.open_read(rel("fifo/x")).code() == errc::not_a_directory);
    CHECK(r.open_partial(rel("file/x")).code() == errc::not_a_directory);
    CHECK(r.stat(rel("missing/x")).code() == errc::not_found);
    CHECK(r.make_dir(rel("missing/x"), false).code() == errc::not_found);
  }
}

TEST_CASE("hard links to outside files are an accepted residual") {
  // A hard link is a second name for the same inode, not a redirection:
  // once it exists inside the root, the file *is* in the root, and no
  // path-based check can tell it apart (rsync and Syncthing behave the same).
  // Creating one needs write access to the root and (with the usual
  // fs.protected_hardlinks=1) ownership of the target, so whoever can do it
  // could copy the file in anyway. What the store does guarantee: it never
  // writes through such a link (partial files are renamed over the name, and
  // a hard-linked temp file is refused), so the outside file keeps its data.
  temp_tree t;
  fs::create_hard_link(t.outside() / "secret", t.in_root("hl"));
  auto r = t.open_root();
  auto rd = r.open_read(rel("hl"));
  REQUIRE(rd.ok());  // reading is allowed: it is a regular file in the root
  std::vector<ftsync::byte> buf(16);
  auto n = rd->read_at(0, buf);
  REQUIRE(n.ok());
  CHECK(std::string(reinterpret_cast<const char*>(buf.data()), *n) == "s3cret");

  auto p = r.open_partial(rel("hl"));
  REQUIRE(p.ok());
  CHECK(p->write_at(0, as_bytes("replaced")).ok());
  CHECK(p->commit(0, 0644).ok());
  CHECK(read_file(t.in_root("hl")) == "replaced");
  CHECK(r.remove_file(rel("hl")).ok());
  t.check_outside_unchanged();
}

// Found by fuzz_confine: chmod and utimensat act on the inode, so setting
// the mode or mtime of a hard link changed the outside file's. Both are now
// refused for a regular file with other links (sync rewrites such a file
// instead); a file with one link, and directories, still work.
TEST_CASE("the mode and mtime of a hard-linked file are left alone") {
  temp_tree t;
  fs::create_hard_link(t.outside() / "secret", t.in_root("hl"));
  auto r = t.open_root();
  CHECK(r.stat(rel("hl"))->links == 2);
  const auto mode = r.set_mode(rel("hl"), 0600);
  CHECK(mode.code() == ftsync::errc::not_regular_file);
  CHECK(mode.err().message.find("hard links") != std::string::npos);
  CHECK(r.set_mtime(rel("hl"), 1'000'000'000'000'000'000).code() == ftsync::errc::not_regular_file);
  t.check_outside_unchanged();
  REQUIRE(r.remove_file(rel("hl")).ok());

  std::ofstream(t.in_root("single")) << "one link";
  CHECK(r.stat(rel("single"))->links == 1);
  CHECK(r.set_mode(rel("single"), 0600).ok());
  CHECK(r.set_mtime(rel("single"), 1'000'000'000'000'000'000).ok());
  CHECK(r.stat(rel("single"))->mtime_ns == 1'000'000'000'000'000'000);
  fs::create_directories(t.in_root("d"));
  CHECK(r.set_mode(rel("d"), 0700).ok());
  CHECK(r.set_mtime(rel("d"), 1'000'000'000'000'000'000).ok());
}
