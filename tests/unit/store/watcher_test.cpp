// The inotify watcher: events for new, changed, removed and renamed files in
// nested and newly created directories; our own partial files are silent.
#include <ftsync/store/watcher.hpp>

#include "unit/store/store_fixture.hpp"

#include <chrono>
#include <fstream>

using namespace ftsync;
using namespace store_test;
using namespace std::chrono_literals;

namespace {

struct tmp {
  fs::path dir;
  tmp() {
    char t[] = "/tmp/ftsync-watch-XXXXXX";
    REQUIRE(::mkdtemp(t) != nullptr);
    dir = t;
  }
  ~tmp() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

// Collects events for up to `limit` until one names `want` (or any change when empty).
bool saw(store::watcher& w, const std::string& want, std::chrono::milliseconds limit = 2000ms) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    auto ev = w.poll(50ms);
    REQUIRE(ev.ok());
    if (!ev->changed) continue;
    if (want.empty()) return true;
    for (const auto& p : ev->paths)
      if (p.str() == want) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("watcher reports changes anywhere in the tree, including new directories") {
  tmp t;
  fs::create_directories(t.dir / "a" / "b");
  auto r = store::root::open(t.dir);
  REQUIRE(r.ok());
  auto w = store::watcher::open(*r);
  REQUIRE(w.ok());
  CHECK(w->watches() == 3);
  auto quiet = w->poll(0ms);
  REQUIRE(quiet.ok());
  CHECK_FALSE(quiet->changed);

  write_file(t.dir / "top.txt", "x");
  CHECK(saw(*w, "top.txt"));
  write_file(t.dir / "a" / "b" / "deep.txt", "y");
  CHECK(saw(*w, "a/b/deep.txt"));
  fs::create_directories(t.dir / "new" / "inner");
  CHECK(saw(*w, "new"));
  // Let the watcher catch up with the new directory, then write inside it.
  (void)w->poll(100ms);
  write_file(t.dir / "new" / "inner" / "f.txt", "z");
  CHECK(saw(*w, "new/inner/f.txt"));
  fs::rename(t.dir / "top.txt", t.dir / "a" / "moved.txt");
  CHECK(saw(*w, "a/moved.txt"));
  fs::remove(t.dir / "a" / "b" / "deep.txt");
  CHECK(saw(*w, "a/b/deep.txt"));
  ::chmod((t.dir / "a" / "moved.txt").c_str(), 0600);
  CHECK(saw(*w, "a/moved.txt"));
}

TEST_CASE("watcher ignores ftsync's own partial files") {
  tmp t;
  auto r = store::root::open(t.dir);
  REQUIRE(r.ok());
  auto w = store::watcher::open(*r);
  REQUIRE(w.ok());
  write_file(t.dir / ".ftsync.0123456789abcdef.part", "temp");
  CHECK_FALSE(saw(*w, "", 300ms));
}

TEST_CASE("watcher: an inotify queue overflow is reported as 'rescan everything'") {
  std::ifstream limit_file("/proc/sys/fs/inotify/max_queued_events");
  std::size_t limit = 16384;
  limit_file >> limit;
  REQUIRE(limit < 200000);  // the test creates limit + 1000 files
  tmp t;
  auto r = store::root::open(t.dir);
  REQUIRE(r.ok());
  auto w = store::watcher::open(*r);
  REQUIRE(w.ok());
  // Nobody reads events while more than the queue holds are produced.
  for (std::size_t i = 0; i < limit + 1000; ++i) {
    const fs::path p = t.dir / ("f" + std::to_string(i));
    std::ofstream(p).put('x');
  }
  bool overflow = false;
  for (int i = 0; i < 100 && !overflow; ++i) {
    auto ev = w->poll(10ms);
    REQUIRE(ev.ok());
    overflow = ev->overflow;
    if (!ev->changed) break;
  }
  CHECK(overflow);
}
