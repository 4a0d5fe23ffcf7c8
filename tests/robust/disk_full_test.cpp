// Disk full on the receiver (issue 5, "Faults"): the receiver's tree lives on
// a 16 MiB tmpfs mounted in a private mount namespace of this test process
// (nothing leaks to the machine; the mount goes away with the process).
// A push or a pull that does not fit fails with a clear error, the sender's
// files are intact, nothing appears at a final path, and the receiver keeps
// serving. Needs root (CI runs as root); without the mount the test FAILS.
#include "robust/robust.hpp"

#include <doctest/doctest.h>

#include <sched.h>
#include <sys/mount.h>
#include <sys/statvfs.h>

#include <cerrno>
#include <cstring>

using namespace robust;

namespace {

constexpr std::uint64_t k_mib = 1024 * 1024;
constexpr std::uint64_t k_fs_mib = 16;

// Enters a private mount namespace and mounts a k_fs_mib tmpfs on `dir`.
void mount_small_fs(const fs::path& dir) {
  fs::create_directories(dir);
  REQUIRE_MESSAGE(::unshare(CLONE_NEWNS) == 0,
                  ("disk-full test: unshare(CLONE_NEWNS) failed: " + std::string(std::strerror(errno)) +
                   " (needs root or CAP_SYS_ADMIN; this test does not skip)"));
  REQUIRE_MESSAGE(::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0,
                  ("disk-full test: making / private failed: " + std::string(std::strerror(errno))));
  const std::string opts = "size=" + std::to_string(k_fs_mib) + "m,mode=0700";
  REQUIRE_MESSAGE(::mount("ftsync-full", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, opts.c_str()) == 0,
                  ("disk-full test: mounting a tmpfs failed: " + std::string(std::strerror(errno))));
  struct statvfs sv {};
  REQUIRE(::statvfs(dir.c_str(), &sv) == 0);
  REQUIRE(sv.f_blocks * sv.f_frsize <= (k_fs_mib + 1) * k_mib);
}

// Unmounts (lazily) before the temp dir holding the mount point is removed.
struct unmount_at_exit {
  fs::path dir;
  ~unmount_at_exit() { ::umount2(dir.c_str(), MNT_DETACH); }
};

bool says_no_space(const run_result& r) {
  for (const char* w : {"no space", "disk full", "space left", "nospc", "not enough space", "enospc"})
    if (contains_icase(r.out + r.err, w)) return true;
  return false;
}

}  // namespace

TEST_CASE("disk full on the receiver: clear error, sender intact, nothing at a final path, still serving") {
  temp_dir dir("diskfull");
  const fs::path small = dir / "small";
  mount_small_fs(small);
  const unmount_at_exit unmount{small};

  node srv(dir.path(), "srv"), cli(dir.path(), "cli");
  srv.init();
  cli.init();
  srv.trust(cli, "cli");
  const fs::path root = small / "root";
  fs::create_directories(root);
  write_text(root / "existing.txt", "served before and after");
  auto serve = std::make_unique<server>(srv, root);
  cli.trust(srv, "srv", serve->address());

  // 8 MiB of ballast plus a 12 MiB file do not fit in 16 MiB; once the
  // ballast is removed they do, and the re-run resumes from the partial file.
  const fs::path big = dir / "big.bin";
  write_random_file(big, 12 * k_mib, 11);
  const auto big_digest = final_files(dir.path()).at("big.bin");

  SUBCASE("push to a full server") {
    write_random_file(root / "ballast.bin", 8 * k_mib, 10);
    const fs::path tree_src = dir / "tree";
    fs::create_directories(tree_src);
    write_random_file(tree_src / "a-small.bin", 1 * k_mib, 12);
    fs::copy_file(big, tree_src / "z-big.bin");
    const auto before = final_files(tree_src);

    auto r = cli.ftsync({"--json", "push", tree_src.string(), "srv:/up"}, 120s);
    CHECK_MESSAGE(r.exit_code != 0, describe(r));
    CHECK_MESSAGE(r.exit_code != 1, ("a full disk is not an internal error\n" + describe(r)));
    CHECK_MESSAGE(!r.timed_out, describe(r));
    CHECK_MESSAGE(says_no_space(r), ("the error does not say the disk is full\n" + describe(r)));
    CHECK_MESSAGE(final_files(tree_src) == before, "the sender's files changed");
    CHECK_MESSAGE(!fs::exists(root / "up" / "tree" / "z-big.bin"), "a file that did not fit is at its final path");
    // What did arrive is complete.
    for (const auto& [rel, digest] : final_files(root / "up" / "tree")) {
      CAPTURE(rel);
      REQUIRE(before.count(rel));
      CHECK(before.at(rel) == digest);
    }
    MESSAGE("after the failed push the server keeps a partial file of ", largest_partial(root) / 1024,
            " KiB for resuming");

    // Still serving: list, pull, remove (which is what frees space).
    CHECK(serve->running());
    auto ls = cli.ftsync({"ls", "srv:/"}, 30s);
    CHECK_MESSAGE(ls.exit_code == 0, describe(ls));
    auto pull = cli.ftsync({"pull", "srv:/existing.txt", (dir / "got").string()}, 30s);
    CHECK_MESSAGE(pull.exit_code == 0, describe(pull));
    CHECK(read_text(dir / "got" / "existing.txt") == "served before and after");
    auto rm = cli.ftsync({"rm", "srv:/ballast.bin"}, 30s);
    CHECK_MESSAGE(rm.exit_code == 0, describe(rm));

    // With the space back, the same push resumes and completes.
    auto again = cli.ftsync({"--json", "push", tree_src.string(), "srv:/up"}, 120s);
    CHECK_MESSAGE(again.exit_code == 0, describe(again));
    CHECK(final_files(root / "up" / "tree") == before);
    CHECK(find_partials(root).empty());
    CHECK_MESSAGE(contains(again.out, "\"resumed\""), ("the re-run did not resume the partial file\n" + describe(again)));
    CHECK(serve->running());
  }

  SUBCASE("pull into a full local disk") {
    // The server's copy is outside the tmpfs; only the client's disk is small.
    const fs::path src_root = dir / "srcroot";
    fs::create_directories(src_root);
    fs::copy_file(big, src_root / "big.bin");
    server serve2(srv, src_root);
    cli.trust(srv, "srv", serve2.address());

    const fs::path dest = small / "dest";
    fs::create_directories(dest);
    write_random_file(small / "ballast.bin", 8 * k_mib, 10);
    auto r = cli.ftsync({"--json", "pull", "srv:/big.bin", dest.string()}, 120s);
    CHECK_MESSAGE(r.exit_code != 0, describe(r));
    CHECK_MESSAGE(r.exit_code != 1, ("a full disk is not an internal error\n" + describe(r)));
    CHECK_MESSAGE(!r.timed_out, describe(r));
    CHECK_MESSAGE(says_no_space(r), ("the error does not say the disk is full\n" + describe(r)));
    CHECK_MESSAGE(!fs::exists(dest / "big.bin"), "a file that did not fit is at its final path");
    CHECK(final_files(src_root).at("big.bin") == big_digest);
    CHECK(serve2.running());

    fs::remove(small / "ballast.bin");
    auto again = cli.ftsync({"--json", "pull", "srv:/big.bin", dest.string()}, 120s);
    CHECK_MESSAGE(again.exit_code == 0, describe(again));
    CHECK(final_files(dest).at("big.bin") == big_digest);
    CHECK(find_partials(dest).empty());
    CHECK_MESSAGE(contains(again.out, "\"resumed\""), ("the re-run did not resume the partial file\n" + describe(again)));
  }
}
