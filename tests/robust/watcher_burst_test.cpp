// Watcher overflow must not cause silent divergence (research/security.md
// D12; issue 5 "grows with Folder sync"). A background sync runs while a
// burst of changes larger than the watcher reports path by path (4,096 per
// poll; beyond that it says "overflow", as the kernel does with
// IN_Q_OVERFLOW) lands on one side, then on the other. Events are only
// hints: after settling, both folders must be equal, file by file and
// byte for byte, with no partial file anywhere.
#include "robust/robust.hpp"

#include <doctest/doctest.h>

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

using namespace robust;

namespace {

// Just over the watcher's per-poll path limit (src/store/watcher.cpp).
constexpr int k_burst_files = 4200;

// Regular files beneath `dir`, ftsync's own skipped: a cheap check to run
// before hashing both trees.
std::size_t count_files(const fs::path& dir) {
  std::size_t n = 0;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_regular_file(ec) && it->path().filename().string().rfind(".ftsync", 0) != 0) ++n;
  return n;
}

// Directories beneath `dir` (relative paths, sorted), ftsync's own skipped.
std::vector<std::string> directories(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_directory(ec) || it->is_symlink(ec)) continue;
    if (it->path().filename().string().rfind(".ftsync", 0) == 0) {
      it.disable_recursion_pending();
      continue;
    }
    out.push_back(fs::relative(it->path(), dir).string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Creates k_burst_files small files in 42 new directories as fast as the
// disk allows, deletes every third file of `doomed` and renames one old
// directory: creates, deletes and a move in one burst.
void burst(const fs::path& side, const std::string& tag, const fs::path& doomed) {
  for (int i = 0; i < k_burst_files; ++i) {
    const fs::path f = side / (tag + "-d" + std::to_string(i % 42)) / ("f" + std::to_string(i) + ".txt");
    if (i < 42) fs::create_directories(f.parent_path());
    write_text(f, tag + " burst file " + std::to_string(i) + "\n");
  }
  int n = 0;
  std::vector<fs::path> old;
  for (const auto& e : fs::directory_iterator(doomed)) old.push_back(e.path());
  for (const auto& p : old)
    if (n++ % 3 == 0) fs::remove(p);
}

}  // namespace

TEST_CASE("a burst of changes past the watcher's limit, on either side of a background sync, converges (D12)") {
  pair_setup p("watch-burst");
  const fs::path local = p.dir / "local";
  const fs::path remote = p.root / "dst";
  fs::create_directories(local / "old-local");
  for (int i = 0; i < 60; ++i) write_text(local / "old-local" / ("o" + std::to_string(i)), "old " + std::to_string(i));
  background bg(p.cli, "watch", {"--json", "sync", local.string(), "srv:/dst"});
  // Converged means the whole state: equal files, the same directories (a
  // moved directory's old name gone on both sides) and no partial file left.
  // Files alone are equal a moment before the round removes the emptied
  // directories and its last partials: a fresh-clone check on a loaded
  // machine caught that moment (2026-12-08).
  auto same = [&] {
    return count_files(local) == count_files(remote) && directories(local) == directories(remote) &&
           find_partials(local).empty() && find_partials(remote).empty() &&
           final_files(local) == final_files(remote);
  };
  REQUIRE_MESSAGE(wait_until(same, 60s, 200ms), ("the first sync did not converge\n" + bg.text()));
  REQUIRE(count_files(remote) == 60);

  auto settle = [&](const char* where) {
    const auto t0 = std::chrono::steady_clock::now();
    const bool ok = wait_until(same, 240s, 500ms);
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    MESSAGE((std::string(where) + ": " + std::to_string(count_files(local)) + " files on each side " +
             (ok ? "converged " : "DID NOT converge ") + std::to_string(took) + " s after the burst"));
    return ok;
  };

  burst(local, "l", local / "old-local");
  fs::rename(local / "l-d0", local / "l-d0-moved");
  CHECK_MESSAGE(settle("burst on the client's side"), ("\n" + bg.text().substr(0, 4000)));

  burst(remote, "r", remote / "old-local");
  fs::rename(remote / "r-d1", remote / "r-d1-moved");
  CHECK_MESSAGE(settle("burst in the served folder"), ("\n" + bg.text().substr(0, 4000)));

  // 60 old files; the first burst deletes 20 of them, the second 14 of the 40 left.
  CHECK(count_files(local) == static_cast<std::size_t>(60 - 20 - 14 + 2 * k_burst_files));
  CHECK(fs::is_directory(local / "l-d0-moved"));
  CHECK(fs::is_directory(local / "r-d1-moved"));
  CHECK(!fs::exists(local / "r-d1"));
  CHECK(!fs::exists(remote / "l-d0"));
  CHECK(find_partials(local).empty());
  CHECK(find_partials(remote).empty());
  REQUIRE(bg.proc->running());
  bg.proc->signal(SIGTERM);
  CHECK_MESSAGE(bg.wait(10s) == 0, bg.text());
}
