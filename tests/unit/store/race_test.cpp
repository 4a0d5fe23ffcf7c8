// D4: a parent directory swapped for a symlink to outside while files are
// being written beneath it (CVE-2024-12747 class; rsync's
// chdir-symlink-race_test.py). Bounded: ~2 s and at most 2,000 files per
// strategy. The two threads share nothing but an atomic stop flag.
#include "unit/store/store_fixture.hpp"

#include <fcntl.h>
#include <stdio.h>  // renameat2, RENAME_EXCHANGE

#include <atomic>
#include <chrono>
#include <thread>

using ftsync::as_bytes;
using ftsync::errc;
using ftsync::store::resolve_strategy;
using namespace store_test;

namespace {

struct race_result {
  int committed = 0;
  int refused = 0;
  int other_errors = 0;
  long flips = 0;
};

race_result run_race(const temp_tree& t, const fs::path& target_outside, std::chrono::milliseconds budget) {
  // root/d is a real directory, root/x a symlink to an empty directory
  // outside; the flipper atomically exchanges the two names.
  fs::create_directory(t.in_root("d"));
  fs::create_symlink(target_outside, t.in_root("x"));
  auto r = t.open_root();

  std::atomic<bool> stop{false};
  std::atomic<long> flips{0};
  std::thread flipper([d = t.in_root("d").string(), x = t.in_root("x").string(), &stop, &flips] {
    long n = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!stop.load(std::memory_order_relaxed) && std::chrono::steady_clock::now() < deadline) {
      if (::renameat2(AT_FDCWD, d.c_str(), AT_FDCWD, x.c_str(), RENAME_EXCHANGE) == 0) ++n;
    }
    flips.store(n, std::memory_order_relaxed);
  });

  race_result res;
  const auto start = std::chrono::steady_clock::now();
  // Bounded by time, by 2,000 committed files and by attempts: refusals are
  // cheap (microseconds) while a commit waits for two fsyncs, and a rename
  // can stall behind the journal commit those force, so counting attempts
  // alone would end the loop long before the flipper got going.
  for (int i = 0; i < 1'000'000 && res.committed < 2000 &&
                  std::chrono::steady_clock::now() - start < budget;
       ++i) {
    // rel_path::parse directly: rel()'s REQUIRE would add an assertion per try.
    auto p = r.open_partial(ftsync::rel_path::parse("d/f_" + std::to_string(i)).value());
    if (!p) {
      (p.code() == errc::path_escapes_root ? res.refused : res.other_errors)++;
      if (p.code() != errc::path_escapes_root) MESSAGE(p.err().message);
      continue;
    }
    auto w = p->write_at(0, as_bytes("payload " + std::to_string(i)));
    auto c = w ? p->commit(0, 0644) : w;
    if (c)
      ++res.committed;
    else
      ++res.other_errors;
  }
  stop.store(true, std::memory_order_relaxed);
  flipper.join();
  res.flips = flips.load(std::memory_order_relaxed);
  return res;
}

}  // namespace

TEST_CASE("parent directory flipped to a symlink during writes: nothing lands outside (D4)") {
  std::vector<resolve_strategy> strategies{resolve_strategy::component_walk};
  if (ftsync::store::openat2_supported()) strategies.push_back(resolve_strategy::openat2);
  for (const auto strategy : strategies) {
    const std::string strategy_text = strategy_name(strategy);
    CAPTURE(strategy_text);
    temp_tree t;
    const fs::path target = t.base() / "race_target";  // outside the root
    fs::create_directory(target);
    strategy_guard guard(strategy);
    const auto res = run_race(t, target, std::chrono::milliseconds(2000));
    MESSAGE(strategy_text << ": " << res.flips << " flips, " << res.committed << " committed, "
                          << res.refused << " refused");

    CHECK(fs::is_empty(target));
    t.check_outside_unchanged();
    CHECK(res.other_errors == 0);
    // The race was really exercised: both outcomes happened.
    CHECK(res.flips > 10);
    CHECK(res.committed > 0);
    CHECK(res.refused > 0);
    // Every committed file is inside the root, in whichever name is the
    // directory now.
    const fs::path real = fs::is_symlink(t.in_root("d")) ? t.in_root("x") : t.in_root("d");
    int files = 0;
    for (const auto& e : fs::directory_iterator(real))
      if (e.path().filename().string().rfind("f_", 0) == 0) ++files;
    CHECK(files == res.committed);
  }
}
