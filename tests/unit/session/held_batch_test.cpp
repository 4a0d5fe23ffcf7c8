// held_batch: when held answers must go even if the server never idles.
#include <ftsync/session/held_batch.hpp>

#include <doctest/doctest.h>

#include <string>
#include <thread>

using ftsync::session::held_batch;
using namespace std::chrono_literals;

TEST_CASE("held_batch: due when full or old, never when empty; take keeps the order") {
  held_batch<std::string> b;
  CHECK(b.empty());
  CHECK_FALSE(b.due());
  for (std::size_t i = 0; i + 1 < held_batch<std::string>::max_items; ++i) b.hold(1, i + 1, "f" + std::to_string(i));
  CHECK_FALSE(b.due());  // fresh and one short of full
  b.hold(2, 99, "last");
  CHECK(b.due());
  auto all = b.take();
  REQUIRE(all.size() == held_batch<std::string>::max_items);
  CHECK(all.front().session == 1);
  CHECK(all.front().reply_to == 1);
  CHECK(all.front().item == "f0");
  CHECK(all.back().session == 2);
  CHECK(all.back().item == "last");
  CHECK(b.empty());
  CHECK_FALSE(b.due());

  b.hold(3, 7, "one");
  CHECK_FALSE(b.due());
  std::this_thread::sleep_for(held_batch<std::string>::max_delay + 10ms);
  CHECK(b.due());  // one item, but it has waited long enough
  CHECK(b.take().size() == 1);
}
