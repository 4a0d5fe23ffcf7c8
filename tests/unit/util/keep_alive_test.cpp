#include <ftsync/util/keep_alive.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <thread>

using namespace std::chrono_literals;

TEST_CASE("run_keeping_alive calls keep_alive while the work blocks, and returns its result") {
  std::atomic<bool> release{false};
  int calls = 0;
  const ftsync::keep_alive_fn ka = [&] {
    // The work only finishes after the connection was kept alive 3 times.
    if (++calls == 3) release = true;
  };
  const auto started = ftsync::mono_now();
  const int r = ftsync::run_keeping_alive(
      [&] {
        for (int i = 0; i < 1000 && !release.load(); ++i) std::this_thread::sleep_for(10ms);
        return 42;
      },
      ka);
  CHECK(r == 42);
  CHECK(calls >= 3);
  CHECK(ftsync::seconds_since(started) < 9.0);  // released by keep_alive, not by the 10 s bound
}

TEST_CASE("run_keeping_alive without a keep_alive runs the work on this thread") {
  const auto here = std::this_thread::get_id();
  std::thread::id ran_on;
  ftsync::run_keeping_alive([&] { ran_on = std::this_thread::get_id(); }, {});
  CHECK(ran_on == here);
}

TEST_CASE("keep_alive_timer calls at most once per interval") {
  int calls = 0;
  const ftsync::keep_alive_fn ka = [&] { ++calls; };
  ftsync::keep_alive_timer t(ka);
  for (int i = 0; i < 1000; ++i) t.tick();
  CHECK(calls == 0);  // all within the first interval
  std::this_thread::sleep_for(ftsync::keep_alive_interval + 20ms);
  t.tick();
  t.tick();
  CHECK(calls == 1);
}
