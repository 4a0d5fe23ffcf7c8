// Path attacks through every command (issue 5, "Hostile input";
// research/security.md D1-D5, D9), adding to tests/integration/
// traversal_test.cpp (hostile strings through the protocol, symlinks in the
// root) and evil_server_test.cpp (hostile names from a server): ".." in
// every position through every CLI command, encoded separators, hard links
// inside the root and the destination, a symlink swapped in during a push
// and during a pull, device files and FIFOs on both sides, and symlinks in
// a pull's local destination. Nothing outside a root or destination is
// read or written; every refusal is a clean error.
//
// Every destructive request aims inside this test's temp dir: the tests
// run as root and a regression must not damage the machine.
#include "robust/robust.hpp"

#include <doctest/doctest.h>

#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <thread>

using namespace robust;

namespace {

constexpr const char* k_secret = "OUTSIDE SECRET 7f3a";

compare_options strict() {
  compare_options o;
  o.mtime_dirs = true;
  return o;
}

bool tree_has_text(const fs::path& dir, const std::string& text) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return false;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec))
    if (it->is_regular_file(ec) && !it->is_symlink(ec) && contains(read_text(it->path()), text)) return true;
  return false;
}

// A command that must fail cleanly: non-zero, not internal (1), no signal,
// no timeout, and no secret in its output.
void refused(const pair_setup& p, const std::vector<std::string>& args, int& counter) {
  ++counter;
  const auto r = p.c(args, 30s);
  CHECK_MESSAGE(r.exit_code != 0, describe(r));
  CHECK_MESSAGE(r.exit_code != 1, ("a refused path is not an internal error\n" + describe(r)));
  CHECK_MESSAGE(r.signal == 0, describe(r));
  CHECK_MESSAGE(!r.timed_out, describe(r));
  CHECK_MESSAGE(!contains(r.out + r.err, k_secret), describe(r));
}

}  // namespace

TEST_CASE("dot-dot in every position through every command is refused") {
  // The root sits three levels down so every escape stays in the temp dir.
  pair_setup p("dotdot", false, "x/y/z/root");
  const fs::path outside = p.dir / "x" / "y" / "z" / "outside";
  fs::create_directories(outside / "d");
  write_text(outside / "f.txt", k_secret);
  fs::create_directories(p.root / "a" / "b");
  write_text(p.root / "a" / "in.txt", "inside");
  fs::create_directories(p.dir / "local");
  write_text(p.dir / "local" / "up.txt", "pushed");
  const tree outside_before = snapshot(p.dir / "x");
  const tree root_before = snapshot(p.root);

  // ".." leading, in the middle, trailing, alone, repeated, after "." and
  // after a trailing slash; each aimed at something that exists outside.
  const std::vector<std::string> shapes = {"../outside/f.txt", "a/../../outside/f.txt", "a/b/../../../outside",
                                           "..",               "../../..",              "./../outside",
                                           "a/..",             "a/b/..",                "/../outside/d",
                                           "a/../../outside/d/"};
  int attacks = 0;
  for (const auto& s : shapes) {
    CAPTURE(s);
    const std::string r = "srv:" + s;
    refused(p, {"ls", r}, attacks);
    refused(p, {"mkdir", r + "/new"}, attacks);
    refused(p, {"mkdir", "-p", r + "/n1/n2"}, attacks);
    refused(p, {"rmdir", r}, attacks);
    refused(p, {"rm", "-r", r}, attacks);
    refused(p, {"mv", r, "srv:/a/moved"}, attacks);
    refused(p, {"mv", "srv:/a/in.txt", r}, attacks);
    refused(p, {"push", (p.dir / "local" / "up.txt").string(), r}, attacks);
    refused(p, {"pull", r, (p.dir / "local" / "got").string()}, attacks);
  }
  MESSAGE(attacks, " dot-dot attacks through ls, mkdir, mkdir -p, rmdir, rm -r, mv (both ends), push, pull");
  CHECK(attacks >= 90);
  const auto d = tree_diff(outside_before, snapshot(p.dir / "x"), strict());
  // The root's own subtree is allowed to be unchanged only: compare it too.
  CHECK_MESSAGE(d == "", ("outside changed:\n" + d));
  CHECK_MESSAGE(tree_diff(root_before, snapshot(p.root), strict()) == "", tree_diff(root_before, snapshot(p.root), strict()));
  CHECK(!tree_has_text(p.dir / "local", k_secret));
  CHECK(p.serve->running());
}

TEST_CASE("encoded separators and look-alike slashes are names and never separators") {
  pair_setup p("encoded", false, "x/root");
  const fs::path outside = p.dir / "x";
  write_text(outside / "victim.txt", k_secret);
  const tree outside_before = [&] {
    tree t = snapshot(outside);
    for (auto it = t.begin(); it != t.end();) it = (it->first.rfind("root", 0) == 0) ? t.erase(it) : std::next(it);
    return t;
  }();
  // Each is a single component: percent-encoding, overlong UTF-8 for '/' and
  // '.', division slash U+2215, fullwidth solidus U+FF0F and full stop U+FF0E.
  const std::vector<std::string> names = {"..%2Fvictim.txt", "%2e%2e%2fvictim.txt", "%2E%2E",
                                          "..%5Cvictim.txt", "\xe2\x88\x95..\xe2\x88\x95x", "\xef\xbc\x8e\xef\xbc\x8e\xef\xbc\x8fx",
                                          "\xc0\xaf..",      "\xc0\xae\xc0\xae"};
  int accepted = 0, refused_n = 0;
  fs::create_directories(p.dir / "local");
  for (const auto& n : names) {
    CAPTURE(n);
    auto mk = p.c({"mkdir", "srv:/" + n}, 30s);
    CHECK_MESSAGE(mk.signal == 0, describe(mk));
    CHECK_MESSAGE(mk.exit_code != 1, describe(mk));
    if (mk.exit_code == 0) {
      ++accepted;
      // Created literally, as one entry directly in the root.
      CHECK_MESSAGE(fs::is_directory(p.root / n), describe(mk));
      auto rmd = p.c({"rmdir", "srv:/" + n}, 30s);
      CHECK_MESSAGE(rmd.exit_code == 0, describe(rmd));
    } else {
      ++refused_n;
    }
    // A local file of that name (when the local file system takes it) pushed and pulled back.
    std::error_code ec;
    const fs::path local = p.dir / "local" / n;
    std::ofstream(local) << "literal";
    if (fs::exists(local, ec)) {
      auto push = p.c({"push", local.string(), "srv:/in"}, 30s);
      CHECK_MESSAGE(push.exit_code != 1, describe(push));
      if (push.exit_code == 0) {
        CHECK(read_text(p.root / "in" / n) == "literal");
        auto pull = p.c({"pull", "srv:/in/" + n, (p.dir / "back").string()}, 30s);
        CHECK_MESSAGE(pull.exit_code == 0, describe(pull));
        CHECK(read_text(p.dir / "back" / n) == "literal");
      }
    }
    auto mv = p.c({"mv", "srv:/in", "srv:/" + n + "/../moved"}, 30s);
    CHECK_MESSAGE(mv.exit_code != 0, describe(mv));
  }
  MESSAGE(names.size(), " encoded names: ", accepted, " taken literally, ", refused_n, " refused");
  tree after = snapshot(outside);
  for (auto it = after.begin(); it != after.end();) it = (it->first.rfind("root", 0) == 0) ? after.erase(it) : std::next(it);
  CHECK_MESSAGE(tree_diff(outside_before, after) == "", tree_diff(outside_before, after));
  CHECK(read_text(outside / "victim.txt") == k_secret);
}

TEST_CASE("hard links into the root and the destination never carry writes outside") {
  pair_setup p("hardlinks");
  const fs::path outside = p.dir / "outside";
  fs::create_directories(outside);
  write_text(outside / "victim.txt", k_secret);
  set_mtime_ns(outside / "victim.txt", 1500000000000000000LL);
  write_text(outside / "local-victim.txt", k_secret);
  set_mtime_ns(outside / "local-victim.txt", 1500000000000000000LL);
  // Both links are on the same file system as their targets (one temp dir).
  fs::create_hard_link(outside / "victim.txt", p.root / "hl.txt");
  const fs::path dest = p.dir / "dest";
  fs::create_directories(dest);
  fs::create_hard_link(outside / "local-victim.txt", dest / "pulled.txt");
  const tree before = snapshot(outside);

  // Push over the hard-linked name: the file is replaced, the shared inode untouched.
  write_text(p.dir / "hl.txt", "NEW CONTENT FROM PUSH");
  auto push = p.c({"push", (p.dir / "hl.txt").string(), "srv:/"}, 30s);
  CHECK_MESSAGE(push.exit_code == 0, describe(push));
  CHECK(read_text(p.root / "hl.txt") == "NEW CONTENT FROM PUSH");
  // Resume path too: a partial for a hard-linked name, then mv and rm.
  auto mv = p.c({"mv", "srv:/hl.txt", "srv:/moved.txt"}, 30s);
  CHECK_MESSAGE(mv.exit_code == 0, describe(mv));
  auto rm = p.c({"rm", "srv:/moved.txt"}, 30s);
  CHECK_MESSAGE(rm.exit_code == 0, describe(rm));

  // Pull over a hard-linked name in the local destination.
  write_text(p.root / "pulled.txt", "NEW CONTENT FROM PULL");
  auto pull = p.c({"pull", "srv:/pulled.txt", dest.string()}, 30s);
  CHECK_MESSAGE(pull.exit_code == 0, describe(pull));
  CHECK(read_text(dest / "pulled.txt") == "NEW CONTENT FROM PULL");

  const auto d = tree_diff(before, snapshot(outside), strict());
  CHECK_MESSAGE(d == "", ("a write went through a hard link to a file outside:\n" + d));
  CHECK(read_text(outside / "victim.txt") == k_secret);
  CHECK(read_text(outside / "local-victim.txt") == k_secret);
}

TEST_CASE("symlinks in a pull's local destination are not followed out of it") {
  pair_setup p("dest-links");
  const fs::path outside = p.dir / "outside";
  fs::create_directories(outside / "docs");
  write_text(outside / "victim.txt", k_secret);
  fs::create_directories(p.root / "docs");
  write_text(p.root / "docs" / "a.txt", "from server");
  write_text(p.root / "victim.txt", "from server, over a link");
  const fs::path dest = p.dir / "dest";
  fs::create_directories(dest);
  fs::create_directory_symlink(outside / "docs", dest / "docs");
  fs::create_symlink(outside / "victim.txt", dest / "victim.txt");
  const tree before = snapshot(outside);

  auto r1 = p.c({"pull", "srv:/docs", dest.string()}, 30s);
  CHECK_MESSAGE(r1.signal == 0, describe(r1));
  CHECK_MESSAGE(r1.exit_code != 1, describe(r1));
  auto r2 = p.c({"pull", "srv:/victim.txt", dest.string()}, 30s);
  CHECK_MESSAGE(r2.signal == 0, describe(r2));
  CHECK_MESSAGE(r2.exit_code != 1, describe(r2));
  if (r2.exit_code == 0) {
    // The link itself was replaced by the file, not written through.
    CHECK(fs::is_regular_file(fs::symlink_status(dest / "victim.txt")));
  }
  MESSAGE("pull into a symlinked dir: exit ", r1.exit_code, "; over a symlinked file: exit ", r2.exit_code);
  const auto d = tree_diff(before, snapshot(outside), strict());
  CHECK_MESSAGE(d == "", ("a pull wrote through a symlink in its destination:\n" + d + describe(r1) + describe(r2)));
}

TEST_CASE("device files and FIFOs are neither served nor read from a push source") {
  pair_setup p("devices");
  // Character devices with the numbers of /dev/zero (endless) and /dev/null.
  REQUIRE_MESSAGE(::mknod((p.root / "zero").c_str(), S_IFCHR | 0644, makedev(1, 5)) == 0, "mknod needs root");
  REQUIRE(::mknod((p.root / "null").c_str(), S_IFCHR | 0644, makedev(1, 3)) == 0);
  REQUIRE(::mkfifo((p.root / "fifo").c_str(), 0644) == 0);
  write_text(p.root / "plain.txt", "plain");
  const fs::path dest = p.dir / "dest";

  int attacks = 0;
  for (const char* dev : {"zero", "null", "fifo"}) {
    CAPTURE(dev);
    auto r = p.c({"pull", std::string("srv:/") + dev, dest.string()}, 30s);
    ++attacks;
    CHECK_MESSAGE(!r.timed_out, describe(r));
    CHECK_MESSAGE(r.signal == 0, describe(r));
    CHECK_MESSAGE(r.exit_code != 1, describe(r));
    const auto st = fs::symlink_status(dest / dev);
    CHECK_MESSAGE((!fs::exists(st) || (fs::is_regular_file(st) && fs::file_size(dest / dev) == 0)), describe(r));
  }
  // The whole root: the plain file arrives, the specials do not hang it.
  auto all = p.c({"pull", "srv:/", (p.dir / "all").string()}, 60s);
  ++attacks;
  CHECK_MESSAGE(!all.timed_out, describe(all));
  CHECK_MESSAGE(all.signal == 0, describe(all));
  bool plain_arrived = false;
  for (const auto& [rel, digest] : final_files(p.dir / "all"))
    plain_arrived |= rel.size() >= 9 && rel.substr(rel.size() - 9) == "plain.txt";
  CHECK_MESSAGE(plain_arrived, describe(all));

  // A push source holding the same specials: skipped, not read forever.
  const fs::path src = p.dir / "src";
  fs::create_directories(src);
  write_text(src / "ok.txt", "ok");
  REQUIRE(::mknod((src / "zero").c_str(), S_IFCHR | 0644, makedev(1, 5)) == 0);
  REQUIRE(::mkfifo((src / "fifo").c_str(), 0644) == 0);
  auto push = p.c({"push", src.string(), "srv:/in"}, 60s);
  ++attacks;
  CHECK_MESSAGE(!push.timed_out, describe(push));
  CHECK_MESSAGE(push.signal == 0, describe(push));
  CHECK(read_text(p.root / "in" / "src" / "ok.txt") == "ok");
  for (const char* dev : {"zero", "fifo"}) {
    const auto st = fs::symlink_status(p.root / "in" / "src" / dev);
    CHECK_MESSAGE((!fs::exists(st) || fs::is_regular_file(st)), dev);
  }
  // Naming the device directly on push.
  auto push_dev = p.c({"push", (src / "zero").string(), "srv:/in2"}, 30s);
  ++attacks;
  CHECK_MESSAGE(!push_dev.timed_out, describe(push_dev));
  CHECK_MESSAGE(push_dev.signal == 0, describe(push_dev));
  const auto pushed_dev = fs::symlink_status(p.root / "in2" / "zero");
  CHECK((!fs::exists(pushed_dev) || fs::file_size(p.root / "in2" / "zero") == 0));
  MESSAGE(attacks, " device/FIFO attacks");
  CHECK(p.serve->running());
}

namespace {

// Flips `dir` between a real directory and a symlink to `outside` until
// `stop`, as fast as it can (research/security.md D4).
void flip_loop(const fs::path& dir, const fs::path& outside, std::atomic<bool>& stop, int& flips) {
  const fs::path real = dir.parent_path() / (dir.filename().string() + ".real");
  const fs::path link = dir.parent_path() / (dir.filename().string() + ".link");
  std::error_code ec;
  fs::create_directory_symlink(outside, link, ec);
  while (!stop) {
    // dir (real) -> .real, .link -> dir; then back.
    if (::rename(dir.c_str(), real.c_str()) != 0) continue;
    ::rename(link.c_str(), dir.c_str());
    ++flips;
    std::this_thread::yield();
    ::rename(dir.c_str(), link.c_str());
    ::rename(real.c_str(), dir.c_str());
  }
}

}  // namespace

TEST_CASE("a symlink swapped in during a push or a pull never redirects a write or a read outside") {
  pair_setup p("swap");
  const fs::path outside = p.dir / "outside";
  fs::create_directories(outside);
  write_text(outside / "secret.txt", k_secret);
  const tree outside_before = snapshot(outside);

  // Many small files, so each one is a fresh path resolution under the flip.
  const int files = count("FTSYNC_ROBUST_SWAP_FILES", 300);
  const fs::path src = p.dir / "src";
  fs::create_directories(src);
  for (int i = 0; i < files; ++i) write_text(src / ("f" + std::to_string(i) + ".txt"), "payload " + std::to_string(i));

  // Push into root/dir while root/dir flips.
  fs::create_directories(p.root / "dir");
  {
    std::atomic<bool> stop{false};
    int flips = 0;
    std::thread flipper([&] { flip_loop(p.root / "dir", outside, stop, flips); });
    for (int round = 0; round < 3; ++round) {
      auto r = p.c({"push", src.string(), "srv:/dir"}, 60s);
      CHECK_MESSAGE(r.signal == 0, describe(r));
      CHECK_MESSAGE(!r.timed_out, describe(r));
    }
    stop = true;
    flipper.join();
    MESSAGE("push under the flip: ", flips, " flips");
    CHECK(flips > 10);
  }
  CHECK_MESSAGE(tree_diff(outside_before, snapshot(outside), strict()) == "",
                ("a push wrote outside through a swapped-in symlink:\n" + tree_diff(outside_before, snapshot(outside), strict())));

  // Pull from root/srcdir while it flips to the outside dir holding the secret.
  fs::create_directories(p.root / "pdir");
  for (int i = 0; i < files; ++i) write_text(p.root / "pdir" / ("g" + std::to_string(i) + ".txt"), "served " + std::to_string(i));
  for (int i = 0; i < files; ++i) write_text(outside / ("g" + std::to_string(i) + ".txt"), k_secret);
  const tree outside_before2 = snapshot(outside);
  {
    std::atomic<bool> stop{false};
    int flips = 0;
    std::thread flipper([&] { flip_loop(p.root / "pdir", outside, stop, flips); });
    for (int round = 0; round < 3; ++round) {
      auto r = p.c({"pull", "srv:/pdir", (p.dir / ("got" + std::to_string(round))).string()}, 60s);
      CHECK_MESSAGE(r.signal == 0, describe(r));
      CHECK_MESSAGE(!r.timed_out, describe(r));
      CHECK_MESSAGE(!tree_has_text(p.dir / ("got" + std::to_string(round)), k_secret),
                    ("a pull read outside the root through a swapped-in symlink\n" + describe(r)));
    }
    stop = true;
    flipper.join();
    MESSAGE("pull under the flip: ", flips, " flips");
    CHECK(flips > 10);
  }
  CHECK(tree_diff(outside_before2, snapshot(outside), strict()) == "");
  CHECK(p.serve->running());
}
