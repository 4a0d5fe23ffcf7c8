#include "cli/peer_path.hpp"

#include <doctest/doctest.h>

using ftsync::errc;
using ftsync::cli::parse_peer_path;
using ftsync::cli::parse_same_peer;

TEST_CASE("PEER:PATH: leading slash or not, the same path inside the root") {
  for (const char* arg : {"laptop:/a/b", "laptop:a/b", "laptop://a//b/", "laptop:./a/./b"}) {
    auto p = parse_peer_path(arg);
    REQUIRE_MESSAGE(p.ok(), arg);
    CHECK(p->peer == "laptop");
    CHECK(p->path.str() == "a/b");
    CHECK(p->display() == "laptop:/a/b");
  }
  for (const char* arg : {"nas-2:", "nas-2:/", "nas-2:."}) {
    auto p = parse_peer_path(arg);
    REQUIRE_MESSAGE(p.ok(), arg);
    CHECK(p->peer == "nas-2");
    CHECK(p->path.is_root());
  }
  auto spaced = parse_peer_path("h.x:/my photos/été 2026.jpg");
  REQUIRE(spaced.ok());
  CHECK(spaced->path.str() == "my photos/été 2026.jpg");
  // Only the first ':' separates: later ones are part of the path.
  auto colon = parse_peer_path("pc:/a:b");
  REQUIRE(colon.ok());
  CHECK(colon->path.str() == "a:b");
}

TEST_CASE("PEER:PATH: bad peers and hostile paths are usage errors") {
  struct row {
    const char* arg;
    errc code;
  };
  const row rows[] = {
      {"no-colon", errc::invalid_argument},
      {":/a", errc::invalid_argument},        // empty peer
      {"-x:/a", errc::invalid_argument},      // looks like a flag
      {"a b:/x", errc::invalid_argument},
      {"/abs/path:x", errc::invalid_argument},
      {"laptop:../etc", errc::bad_path},
      {"laptop:/a/../../etc", errc::bad_path},
      {"laptop:a\nb", errc::bad_path},
      {"laptop:/.ftsync.1.part", errc::reserved_name},
  };
  for (const auto& r : rows) {
    auto p = parse_peer_path(r.arg);
    CHECK_FALSE_MESSAGE(p.ok(), r.arg);
    CHECK_MESSAGE(p.code() == r.code, r.arg);
  }
  auto nul = parse_peer_path(std::string("laptop:a\0b", 10));
  CHECK(nul.code() == errc::bad_path);
}

TEST_CASE("all PEER:PATH arguments of one command name one peer") {
  auto same = parse_same_peer({"a:/x", "a:y", "a:"});
  REQUIRE(same.ok());
  CHECK(same->size() == 3);
  auto mixed = parse_same_peer({"a:/x", "b:/y"});
  CHECK(mixed.code() == errc::invalid_argument);
  REQUIRE_FALSE(mixed.ok());
  CHECK(mixed.err().message.find("same peer") != std::string::npos);
  CHECK(parse_same_peer({"a:/x", "oops"}).code() == errc::invalid_argument);
  CHECK(parse_same_peer({}).ok());
}
