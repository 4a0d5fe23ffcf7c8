#include <ftsync/util/errc.hpp>
#include <ftsync/util/log.hpp>

#include <doctest/doctest.h>

TEST_CASE("escape_for_log keeps names on one line without terminal escapes") {
  CHECK(ftsync::escape_for_log("plain name.txt") == "plain name.txt");
  CHECK(ftsync::escape_for_log("a\nb") == "a\\x0ab");
  CHECK(ftsync::escape_for_log("\x1b[2J") == "\\x1b[2J");
  CHECK(ftsync::escape_for_log("r\rn") == "r\\x0dn");
  CHECK(ftsync::escape_for_log("back\\slash") == "back\\x5cslash");
  CHECK(ftsync::escape_for_log("日本") == "日本");
  CHECK(ftsync::escape_for_log("\xff") == "\\xff");
}

TEST_CASE("errc names round-trip") {
  for (int i = 0; i <= static_cast<int>(ftsync::errc::internal); ++i) {
    auto code = static_cast<ftsync::errc>(i);
    CHECK(ftsync::errc_from_name(ftsync::errc_name(code)) == code);
  }
}
