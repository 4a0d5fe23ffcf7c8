// ls, mkdir, rmdir, rm, mv against a real server, each checked on the
// server's disk.
#include "integration/harness.hpp"

#include <doctest/doctest.h>

using namespace integ;

namespace {

// The JSON object describing `name` in `ls --json` output, if any.
std::optional<json> json_entry(const std::string& out, const std::string& name) {
  for (const auto& j : all_json_objects(out)) {
    for (const char* key : {"name", "path"}) {
      if (!j.contains(key) || !j[key].is_string()) continue;
      const std::string v = j[key].get<std::string>();
      if (v == name || (v.size() > name.size() && v.compare(v.size() - name.size() - 1, std::string::npos, "/" + name) == 0))
        return j;
    }
  }
  return std::nullopt;
}

bool says_directory(const json& j) {
  for (const char* key : {"kind", "type"})
    if (j.contains(key) && j[key].is_string() && (j[key] == "directory" || j[key] == "dir")) return true;
  return j.contains("dir") && j["dir"] == true;
}

}  // namespace

TEST_CASE("ls: names, sizes, dirs marked; --json; a file; a missing path") {
  pair_setup p("ls");
  fs::create_directories(p.root / "docs" / "sub");
  write_text(p.root / "docs" / "a.txt", std::string(777, 'a'));
  write_random_file(p.root / "docs" / "b.bin", 1234, 1);
  write_text(p.root / "docs" / "with space ☕.txt", "x");
  // A partial file of an interrupted transfer is ftsync's own: never listed.
  write_text(p.root / "docs" / ".ftsync.0123456789abcdef.part", "partial");

  auto ls = p.c({"ls", "srv:/docs"});
  REQUIRE_MESSAGE(ls.exit_code == 0, describe(ls));
  CHECK_MESSAGE(contains(ls.out, "a.txt"), describe(ls));
  CHECK_MESSAGE(contains(ls.out, "777"), describe(ls));
  CHECK_MESSAGE(contains(ls.out, "b.bin"), describe(ls));
  CHECK_MESSAGE(contains(ls.out, "1234"), describe(ls));
  CHECK_MESSAGE(contains(ls.out, "sub/"), ("directories are marked with '/'\n" + describe(ls)));
  CHECK_MESSAGE(!contains(ls.out, "a.txt/"), describe(ls));
  CHECK_MESSAGE(contains(ls.out, "with space ☕.txt"), describe(ls));
  CHECK_MESSAGE(!contains(ls.out, ".ftsync"), ("partial file listed\n" + describe(ls)));

  // The root, with and without a slash.
  auto root1 = p.c({"ls", "srv:/"});
  auto root2 = p.c({"ls", "srv:"});
  CHECK_MESSAGE(root1.exit_code == 0, describe(root1));
  CHECK_MESSAGE(contains(root1.out, "docs/"), describe(root1));
  CHECK_MESSAGE(root2.exit_code == 0, describe(root2));
  CHECK_MESSAGE(root2.out == root1.out, describe(root2));

  auto js = p.c({"--json", "ls", "srv:/docs"});
  REQUIRE_MESSAGE(js.exit_code == 0, describe(js));
  auto a = json_entry(js.out, "a.txt");
  auto sub = json_entry(js.out, "sub");
  REQUIRE_MESSAGE(a.has_value(), describe(js));
  REQUIRE_MESSAGE(sub.has_value(), describe(js));
  CHECK_MESSAGE((a->contains("size") && (*a)["size"] == 777), describe(js));
  CHECK_MESSAGE(says_directory(*sub), describe(js));
  CHECK_MESSAGE(!says_directory(*a), describe(js));
  CHECK_MESSAGE(!json_entry(js.out, ".ftsync.0123456789abcdef.part").has_value(), describe(js));

  // ls of a file shows that file.
  auto file = p.c({"ls", "srv:/docs/b.bin"});
  CHECK_MESSAGE(file.exit_code == 0, describe(file));
  CHECK_MESSAGE(contains(file.out, "b.bin"), describe(file));
  CHECK_MESSAGE(contains(file.out, "1234"), describe(file));

  // A missing path: remote error, exit 4, the message names the path.
  auto missing = p.c({"ls", "srv:/docs/no-such-thing"});
  CHECK_MESSAGE(missing.exit_code == 4, describe(missing));
  CHECK_MESSAGE(contains(missing.err, "no-such-thing"), describe(missing));
}

TEST_CASE("mkdir, rmdir, rm, mv change the server's disk as asked") {
  pair_setup p("dirops");
  const fs::path& r = p.root;

  auto ok = [&](const std::vector<std::string>& args) {
    auto res = p.c(args);
    CHECK_MESSAGE(res.exit_code == 0, describe(res));
    return res;
  };
  auto remote_error = [&](const std::vector<std::string>& args) {
    auto res = p.c(args);
    CHECK_MESSAGE(res.exit_code == 4, describe(res));
    CHECK_MESSAGE(!res.err.empty(), describe(res));
    return res;
  };

  // mkdir
  ok({"mkdir", "srv:/d1"});
  CHECK(fs::is_directory(r / "d1"));
  ok({"mkdir", "srv:/m1", "srv:m2", "srv:/new dir ☕"});
  CHECK(fs::is_directory(r / "m1"));
  CHECK(fs::is_directory(r / "m2"));
  CHECK(fs::is_directory(r / "new dir ☕"));
  remote_error({"mkdir", "srv:/d1"});  // exists
  CHECK(fs::is_directory(r / "d1"));
  auto no_parent = p.c({"mkdir", "srv:/p/q/r"});
  CHECK_MESSAGE(no_parent.exit_code == 4, describe(no_parent));
  CHECK(!fs::exists(r / "p"));
  ok({"mkdir", "-p", "srv:/p/q/r"});
  CHECK(fs::is_directory(r / "p" / "q" / "r"));
  ok({"mkdir", "-p", "srv:/p/q/r"});  // -p: an existing dir is fine

  // rmdir
  ok({"rmdir", "srv:/d1"});
  CHECK(!fs::exists(r / "d1"));
  remote_error({"rmdir", "srv:/p"});  // not empty
  CHECK(fs::is_directory(r / "p" / "q" / "r"));
  write_text(r / "plain.txt", "plain");
  remote_error({"rmdir", "srv:/plain.txt"});  // not a directory
  CHECK(fs::is_regular_file(r / "plain.txt"));
  remote_error({"rmdir", "srv:/never-was"});

  // rm
  ok({"rm", "srv:/plain.txt"});
  CHECK(!fs::exists(r / "plain.txt"));
  remote_error({"rm", "srv:/plain.txt"});  // gone
  write_text(r / "p" / "q" / "f.txt", "f");
  remote_error({"rm", "srv:/p"});  // a directory without -r
  CHECK(fs::is_regular_file(r / "p" / "q" / "f.txt"));
  ok({"rm", "-r", "srv:/p"});
  CHECK(!fs::exists(r / "p"));
  CHECK(fs::is_directory(r));

  // mv: rename a file, into an existing dir, a dir to a new name.
  write_text(r / "a.txt", "content of a");
  ok({"mv", "srv:/a.txt", "srv:/b.txt"});
  CHECK(!fs::exists(r / "a.txt"));
  CHECK(read_text(r / "b.txt") == "content of a");
  ok({"mkdir", "srv:/dir2"});
  ok({"mv", "srv:/b.txt", "srv:/dir2"});
  CHECK(!fs::exists(r / "b.txt"));
  CHECK(read_text(r / "dir2" / "b.txt") == "content of a");
  ok({"mv", "srv:/dir2", "srv:/dir3"});
  CHECK(!fs::exists(r / "dir2"));
  CHECK(read_text(r / "dir3" / "b.txt") == "content of a");
  ok({"mv", "srv:/dir3/b.txt", "srv:/m1/renamed ☕.txt"});
  CHECK(read_text(r / "m1" / "renamed ☕.txt") == "content of a");
  remote_error({"mv", "srv:/no-such", "srv:/x"});
  CHECK(!fs::exists(r / "x"));

  // The served root itself cannot be removed or moved away.
  auto rm_root = p.c({"rm", "-r", "srv:/"});
  CHECK_MESSAGE(rm_root.exit_code != 0, describe(rm_root));
  auto rmdir_root = p.c({"rmdir", "srv:/"});
  CHECK_MESSAGE(rmdir_root.exit_code != 0, describe(rmdir_root));
  CHECK(fs::is_directory(r / "m1"));
  CHECK(fs::is_directory(r));
}
