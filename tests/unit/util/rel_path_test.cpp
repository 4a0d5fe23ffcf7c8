#include <ftsync/util/rel_path.hpp>

#include <doctest/doctest.h>

#include <string>

using ftsync::errc;
using ftsync::rel_path;

TEST_CASE("rel_path::parse accepts ordinary relative paths") {
  for (const char* ok : {"a", "a/b", "dir with spaces/f.txt", "ünïcödé/日本語", "a/.hidden", "x..y", "..a", "a/b/c/d"}) {
    auto p = rel_path::parse(ok);
    CHECK_MESSAGE(p.ok(), ok);
    if (p) CHECK(p->str() == ok);
  }
  CHECK(rel_path::parse("").ok());
  CHECK(rel_path::parse("")->is_root());
}

TEST_CASE("rel_path::parse refuses traversal and hostile names") {
  struct row { std::string text; errc code; };
  const row rows[] = {
      {"..", errc::bad_path},          {"../x", errc::bad_path},        {"a/..", errc::bad_path},
      {"a/../b", errc::bad_path},      {"/etc/passwd", errc::bad_path}, {".", errc::bad_path},
      {"a/./b", errc::bad_path},       {"a//b", errc::bad_path},        {"a/", errc::bad_path},
      {std::string("a\0b", 3), errc::bad_path},                         {"a\\..\\b", errc::bad_path},
      {"a\nb", errc::bad_path},        {"a\x1b[2J", errc::bad_path},    {"\xff\xfe", errc::bad_path},
      {"\xc0\xaf", errc::bad_path},    {std::string(256, 'x'), errc::bad_path},
      {".ftsync.1234.part", errc::reserved_name},                       {"d/.ftsync-state", errc::reserved_name},
  };
  for (const auto& r : rows) {
    auto p = rel_path::parse(r.text);
    CHECK_FALSE_MESSAGE(p.ok(), r.text);
    CHECK(p.code() == r.code);
  }
  std::string long_path;
  while (long_path.size() <= 4096) long_path += "abcdefgh/";
  long_path += "x";
  CHECK(rel_path::parse(long_path).code() == errc::bad_path);
}

TEST_CASE("rel_path::from_user is lenient about slashes but not about ..") {
  CHECK(rel_path::from_user("/a/b")->str() == "a/b");
  CHECK(rel_path::from_user("a//b/")->str() == "a/b");
  CHECK(rel_path::from_user("./a/./b")->str() == "a/b");
  CHECK(rel_path::from_user("/")->is_root());
  CHECK(rel_path::from_user("")->is_root());
  CHECK(rel_path::from_user("a/../b").code() == errc::bad_path);
  CHECK(rel_path::from_user("/..").code() == errc::bad_path);
}

TEST_CASE("rel_path navigation") {
  auto p = *rel_path::parse("a/b/c");
  CHECK(p.name() == "c");
  CHECK(p.parent().str() == "a/b");
  CHECK(p.parent().parent().parent().is_root());
  CHECK(p.components().size() == 3);
  CHECK(p.starts_with(*rel_path::parse("a/b")));
  CHECK_FALSE(p.starts_with(*rel_path::parse("a/bc")));
  CHECK(p.starts_with(rel_path{}));
  CHECK(rel_path{}.join("x")->str() == "x");
  CHECK(p.join("..").code() == errc::bad_path);
  CHECK(p.join(*rel_path::parse("d/e")).str() == "a/b/c/d/e");
}
