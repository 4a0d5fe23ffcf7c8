// Paths stay inside the served root (research/security.md D1, D2, D3, D5):
// through the CLI, through an authenticated but hostile client that sends
// crafted requests, and through symlinks planted inside the root.
//
// Destructive requests (remove, move, put) only ever aim at paths inside
// this test's temp dir, never at system files: the tests run as root and a
// regression must not be able to damage the machine.
#include "integration/evil_client.hpp"
#include "integration/harness.hpp"

#include <doctest/doctest.h>

#include <sys/stat.h>

using namespace integ;
namespace w = ftsync::wire;

namespace {

// Everything in the test dir outside the served root and the node dirs
// (whose logs grow); compared with directory mtimes, so a file created and
// removed again in a parent still shows.
tree outside_view(const fs::path& base, const std::string& root_rel) {
  tree t = snapshot(base);
  for (auto it = t.begin(); it != t.end();) {
    const std::string& p = it->first;
    const bool drop = p.empty() || p == root_rel || p.rfind(root_rel + "/", 0) == 0 || p == "srv" || p == "cli" ||
                      p.rfind("srv/", 0) == 0 || p.rfind("cli/", 0) == 0 || p == "local" || p.rfind("local/", 0) == 0;
    it = drop ? t.erase(it) : std::next(it);
  }
  return t;
}

compare_options strict() {
  compare_options o;
  o.mtime_dirs = true;
  return o;
}

bool refused(const evil_outcome& o) {
  if (o.what == evil_outcome::kind::closed) return true;
  if (o.what != evil_outcome::kind::error_reply) return false;
  using ftsync::errc;
  return o.code == errc::bad_path || o.code == errc::path_escapes_root || o.code == errc::reserved_name ||
         o.code == errc::too_large;
}

// Any error at all (the target is inside the root but must not be followed).
bool failed(const evil_outcome& o) {
  return o.what == evil_outcome::kind::closed || o.what == evil_outcome::kind::error_reply;
}

bool tree_contains_text(const fs::path& dir, const std::string& text) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return false;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_regular_file(ec) && !it->is_symlink(ec) && contains(read_text(it->path()), text)) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("traversal through the CLI is refused and writes nothing outside the root") {
  // Root two levels down, so "../.." still lands inside this test's temp dir.
  pair_setup p("trav-cli", false, "a/b/root");
  fs::create_directories(p.dir / "a" / "b" / "sibling");
  write_text(p.dir / "a" / "b" / "sibling" / "keep.txt", "keep");
  write_text(p.root / "victim.txt", "victim");
  const std::string local_name = "escape-" + std::to_string(::getpid()) + ".txt";
  fs::create_directories(p.dir / "local");
  write_text(p.dir / "local" / local_name, "escapee");
  const tree before = outside_view(p.dir.path(), "a/b/root");

  auto refuse = [&](const std::vector<std::string>& args) {
    auto r = p.c(args, 30s);
    CHECK_MESSAGE(r.exit_code != 0, describe(r));
    CHECK_MESSAGE(r.exit_code != 1, ("a refused path is a user or remote error, not an internal one\n" + describe(r)));
    CHECK_MESSAGE(r.signal == 0, describe(r));
    CHECK_MESSAGE(!r.timed_out, describe(r));
    return r;
  };
  refuse({"ls", "srv:../"});
  refuse({"ls", "srv:/.."});
  refuse({"ls", "srv:/a/../.."});
  refuse({"mkdir", "srv:a/../../x"});
  refuse({"mkdir", "-p", "srv:../../made"});
  refuse({"push", (p.dir / "local" / local_name).string(), "srv:../../tmp"});
  refuse({"push", (p.dir / "local" / local_name).string(), "srv:/../sibling"});
  refuse({"pull", "srv:/../etc/passwd", (p.dir / "local" / "d").string()});
  refuse({"pull", "srv:../sibling/keep.txt", (p.dir / "local" / "d").string()});
  refuse({"rm", "-r", "srv:../sibling"});
  refuse({"rmdir", "srv:../sibling"});
  refuse({"mv", "srv:/victim.txt", "srv:../stolen.txt"});
  refuse({"mv", "srv:../sibling/keep.txt", "srv:/stolen.txt"});

  CHECK_MESSAGE(tree_diff(before, outside_view(p.dir.path(), "a/b/root"), strict()) == "",
                (tree_diff(before, outside_view(p.dir.path(), "a/b/root"), strict())));
  CHECK(!fs::exists(p.dir / "a" / "tmp"));
  CHECK(!fs::exists(fs::path("/tmp") / "tmp" / local_name));
  CHECK(!fs::exists(p.dir / "local" / "d" / "passwd"));
  CHECK(!fs::exists(p.dir / "local" / "d" / "keep.txt"));
  CHECK(read_text(p.root / "victim.txt") == "victim");
  CHECK(!fs::exists(p.root / "stolen.txt"));

  auto ls = p.c({"ls", "srv:/"});
  CHECK_MESSAGE(ls.exit_code == 0, describe(ls));
  CHECK(p.serve->running());
}

TEST_CASE("the server refuses hostile paths from an authenticated client") {
  pair_setup p("trav-evil", false, "a/b/root");
  const fs::path outside = p.dir / "outside";
  fs::create_directories(outside);
  write_text(outside / "victim.txt", "outside victim");
  write_text(p.root / "inside.txt", "inside");
  fs::create_directories(p.root / "a");
  const tree before = outside_view(p.dir.path(), "a/b/root");
  evil_client evil(p.srv, p.serve->port());

  // Absolute paths for destructive requests point into this test's dir.
  const std::string abs_victim = (outside / "victim.txt").string();
  const std::vector<std::pair<std::string, std::string>> hostile = {
      {"dotdot", "../x"},
      {"dotdot-only", ".."},
      {"dotdot-deep", "../../../outside/victim.txt"},
      {"abs", abs_victim},
      {"abs-dir", outside.string()},
      {"inner-dotdot", "a/../../b"},
      {"dot", "a/./inside.txt"},
      {"empty-component", "a//b"},
      {"trailing-slash", "a/"},
      {"nul", std::string("a\0b", 3)},
      {"nul-dotdot", std::string("inside.txt\0/../../x", 19)},
      {"backslash", "a\\..\\..\\b"},
      {"control", "a\nb"},
      {"bad-utf8", "\xff\xfe"},
      {"reserved", ".ftsync.0123456789abcdef.part"},
      {"long-component", std::string(300, 'n')},
      {"long-path", [] {
         std::string s;
         while (s.size() < 5000) s += "dddddddddd/";
         return s + "f";
       }()},
  };

  for (const auto& [label, path] : hostile) {
    CAPTURE(label);
    const std::vector<std::pair<std::string, w::message>> requests = {
        {"stat", w::stat_request{0, path}},
        {"list", w::list_request{0, path, 0}},
        {"mkdir", w::mkdir_request{0, path, true, 0755, 0}},
        {"rmdir", w::rmdir_request{0, path}},
        {"remove", w::remove_request{0, path, true}},
        {"put_begin", w::put_begin{0, path, 5, 0, 0644, false}},
        {"get_open", w::get_open{0, path}},
        {"move-from", w::move_request{0, path, "moved-in"}},
        {"move-to", w::move_request{0, "inside.txt", path}},
    };
    for (const auto& [op, msg] : requests) {
      CAPTURE(op);
      // "../x"-style paths are the only ones a GET may legitimately fail on
      // with another code; stat/list of "/..." must never succeed.
      const auto o = evil.request(msg);
      CHECK_MESSAGE(refused(o), describe(o));
    }
  }

  CHECK_MESSAGE(tree_diff(before, outside_view(p.dir.path(), "a/b/root"), strict()) == "",
                ("something changed outside the root:\n" + tree_diff(before, outside_view(p.dir.path(), "a/b/root"), strict())));
  CHECK(read_text(p.root / "inside.txt") == "inside");
  CHECK(!fs::exists(p.root / "moved-in"));
  CHECK(find_partials(p.dir.path()).empty());

  // Stale or foreign transfer ids, and the root as a file target.
  CHECK(failed(evil.request(w::put_commit{0, 4242, {}})));
  CHECK(failed(evil.request(w::get_close{0, 4242})));
  CHECK(failed(evil.request(w::get_block{0, 4242, 0})));
  CHECK(failed(evil.request(w::put_begin{0, "", 5, 0, 0644, false})));
  CHECK(failed(evil.request(w::remove_request{0, "", true})));
  CHECK(fs::is_directory(p.root));

  // The server still serves everyone, the evil client included.
  CHECK(p.serve->running());
  auto ls = p.c({"ls", "srv:/"});
  CHECK_MESSAGE(ls.exit_code == 0, describe(ls));
  CHECK_MESSAGE(contains(ls.out, "inside.txt"), describe(ls));
  const auto again = evil.request(w::stat_request{0, "inside.txt"});
  CHECK_MESSAGE(again.what == evil_outcome::kind::success, describe(again));
}

TEST_CASE("symlinks inside the root that point outside are never followed") {
  pair_setup p("symlinks");
  const fs::path outside = p.dir / "outside";
  fs::create_directories(outside / "inner");
  write_text(outside / "secret.txt", "TOP SECRET");
  write_text(outside / "victim.txt", "VICTIM ORIGINAL");
  set_mtime_ns(outside / "victim.txt", 1500000000000000000LL);
  write_text(p.root / "top.txt", "top");
  fs::create_symlink(outside, p.root / "link");
  fs::create_symlink(outside / "victim.txt", p.root / "victim_link");
  REQUIRE(::mkfifo((p.root / "fifo").c_str(), 0644) == 0);
  const tree outside_before = snapshot(outside);
  const fs::path local = p.dir / "local";
  fs::create_directories(local / "evil");
  write_text(local / "f.txt", "pushed");
  write_text(local / "evil" / "x.txt", "pushed tree");
  auto outside_unchanged = [&] {
    const auto d = tree_diff(outside_before, snapshot(outside), strict());
    CHECK_MESSAGE(d == "", ("outside changed:\n" + d));
  };

  auto fails = [&](const std::vector<std::string>& args) {
    auto r = p.c(args, 30s);
    CHECK_MESSAGE(r.exit_code != 0, describe(r));
    CHECK_MESSAGE(r.signal == 0, describe(r));
    CHECK_MESSAGE(!r.timed_out, describe(r));
    CHECK_MESSAGE(!contains(r.out + r.err, "TOP SECRET"), describe(r));
    return r;
  };

  // Reading through the link.
  fails({"pull", "srv:/link/secret.txt", (local / "d1").string()});
  CHECK(!tree_contains_text(local / "d1", "TOP SECRET"));
  // Naming the link itself: refused, or skipped as a symlink; never followed.
  auto pull_link = p.c({"pull", "srv:/link", (local / "d1b").string()}, 30s);
  CHECK_MESSAGE(pull_link.signal == 0, describe(pull_link));
  CHECK_MESSAGE(!tree_contains_text(local / "d1b", "TOP SECRET"), describe(pull_link));
  CHECK_MESSAGE(!fs::exists(local / "d1b" / "link" / "secret.txt"), describe(pull_link));
  // ls of the link may show the link entry itself (like ls -l), never its target's entries.
  auto ls = p.c({"ls", "srv:/link"}, 30s);
  CHECK_MESSAGE(!contains(ls.out, "secret.txt"), ("ls followed a symlink out of the root\n" + describe(ls)));
  CHECK_MESSAGE(!contains(ls.out, "inner"), ("ls followed a symlink out of the root\n" + describe(ls)));
  auto ls2 = p.c({"ls", "srv:/link/"}, 30s);
  CHECK_MESSAGE(!contains(ls2.out, "secret.txt"), describe(ls2));
  auto ls3 = p.c({"ls", "srv:/link/inner"}, 30s);
  CHECK_MESSAGE(ls3.exit_code != 0, describe(ls3));

  // Writing through the link.
  fails({"push", (local / "f.txt").string(), "srv:/link"});
  fails({"push", (local / "evil").string(), "srv:/link/sub"});
  fails({"mkdir", "srv:/link/newdir"});
  fails({"mkdir", "-p", "srv:/link/a/b"});
  fails({"rm", "srv:/link/secret.txt"});
  fails({"rm", "-r", "srv:/link/inner"});
  fails({"rmdir", "srv:/link/inner"});
  fails({"mv", "srv:/link/secret.txt", "srv:/stolen.txt"});
  fails({"mv", "srv:/top.txt", "srv:/link/moved.txt"});
  CHECK(!fs::exists(p.root / "stolen.txt"));
  CHECK(fs::exists(p.root / "top.txt"));
  outside_unchanged();

  // A symlink as the final component: pushing a file of that name must
  // replace the link (or be refused), never write through it (D3).
  write_text(local / "victim_link", "PUSHED OVER THE LINK");
  auto over = p.c({"push", (local / "victim_link").string(), "srv:/"}, 30s);
  CHECK_MESSAGE(over.signal == 0, describe(over));
  if (over.exit_code == 0) {
    CHECK_MESSAGE(fs::is_regular_file(fs::symlink_status(p.root / "victim_link")), describe(over));
    CHECK(read_text(p.root / "victim_link") == "PUSHED OVER THE LINK");
  }
  outside_unchanged();
  CHECK(read_text(outside / "victim.txt") == "VICTIM ORIGINAL");
  CHECK(mtime_ns(outside / "victim.txt") == 1500000000000000000LL);

  // Pulling the whole root: the links and the FIFO are not followed.
  auto all = p.c({"pull", "srv:/", (local / "all").string()}, 30s);
  CHECK_MESSAGE(all.signal == 0, describe(all));
  CHECK_MESSAGE(!all.timed_out, describe(all));
  CHECK_MESSAGE(!tree_contains_text(local / "all", "TOP SECRET"), describe(all));
  CHECK_MESSAGE(!tree_contains_text(local / "all", "VICTIM ORIGINAL"), describe(all));

  // A FIFO: refused or skipped, and nothing hangs.
  auto fifo = p.c({"pull", "srv:/fifo", (local / "f").string()}, 30s);
  CHECK_MESSAGE(!fifo.timed_out, describe(fifo));
  CHECK_MESSAGE(fifo.signal == 0, describe(fifo));
  const auto fifo_copy = fs::symlink_status(local / "f" / "fifo");
  CHECK((!fs::exists(fifo_copy) || fs::is_regular_file(fifo_copy)));

  // The same through the protocol directly (a fresh final-component link:
  // the push above may have replaced victim_link with a regular file).
  fs::create_symlink(outside / "victim.txt", p.root / "victim_link2");
  evil_client evil(p.srv, p.serve->port());
  for (const auto& [op, msg] : std::vector<std::pair<std::string, w::message>>{
           {"stat link/secret.txt", w::stat_request{0, "link/secret.txt"}},
           {"list link", w::list_request{0, "link", 0}},
           {"list link/inner", w::list_request{0, "link/inner", 0}},
           {"get_open link/secret.txt", w::get_open{0, "link/secret.txt"}},
           {"get_open victim_link2", w::get_open{0, "victim_link2"}},
           {"put_begin victim_link2", w::put_begin{0, "victim_link2/x", 5, 0, 0644, false}},
           {"get_open link", w::get_open{0, "link"}},
           {"get_open fifo", w::get_open{0, "fifo"}},
           {"put_begin link/evil.txt", w::put_begin{0, "link/evil.txt", 5, 0, 0644, false}},
           {"mkdir link/nd", w::mkdir_request{0, "link/nd", true, 0755, 0}},
           {"remove link/secret.txt", w::remove_request{0, "link/secret.txt", false}},
           {"remove link/inner", w::remove_request{0, "link/inner", true}},
           {"rmdir link/inner", w::rmdir_request{0, "link/inner"}},
           {"move link/secret.txt", w::move_request{0, "link/secret.txt", "stolen2.txt"}},
           {"move into link", w::move_request{0, "top.txt", "link/top.txt"}},
       }) {
    CAPTURE(op);
    const auto o = evil.request(msg);
    CHECK_MESSAGE(failed(o), describe(o));
  }
  outside_unchanged();
  CHECK(!fs::exists(p.root / "stolen2.txt"));
  CHECK(fs::exists(p.root / "top.txt"));

  // Removing the link itself is harmless to its target.
  (void)p.c({"rm", "srv:/link"}, 30s);
  (void)p.c({"rm", "-r", "srv:/link"}, 30s);
  outside_unchanged();
  CHECK(p.serve->running());
}
