// push and pull of whole trees: content, mode and mtime survive a round trip,
// a second push sends nothing, and --json summaries carry the traffic numbers.
#include "integration/harness.hpp"

#include <doctest/doctest.h>

#include <sys/stat.h>

using namespace integ;

namespace {

// 2020-09-13T12:26:40.123456789Z and neighbours: odd nanoseconds on purpose.
constexpr std::int64_t k_base_mtime = 1600000000123456789LL;

// The tree of the list: nested dirs, an empty file and dir, unicode
// and spaces in names, a 10 MiB random file, modes 0600/0755, set mtimes.
void make_tree(const fs::path& src, std::uint64_t big_size) {
  fs::create_directories(src / "sub" / "nested" / "deeper");
  fs::create_directories(src / "empty dir");
  fs::create_directories(src / "données");
  write_text(src / "hello.txt", "hello from the integration test\n");
  write_text(src / "empty.txt", "");
  write_text(src / "with space.txt", "spaces\n");
  write_text(src / "données" / "menu ☕.txt", "café\n");
  write_text(src / "sub" / "nested" / "deeper" / "deep.txt", "deep\n");
  write_random_file(src / "big.bin", big_size, 42);
  write_text(src / "private.txt", "secret-ish\n");
  write_text(src / "script.sh", "#!/bin/sh\necho hi\n");
  fs::permissions(src / "private.txt", fs::perms(0600));
  fs::permissions(src / "script.sh", fs::perms(0755));
  fs::permissions(src / "sub" / "nested", fs::perms(0750));
  std::int64_t t = k_base_mtime;
  for (const auto& f : {"hello.txt", "empty.txt", "with space.txt", "données/menu ☕.txt",
                        "sub/nested/deeper/deep.txt", "big.bin", "private.txt", "script.sh"}) {
    set_mtime_ns(src / f, t);
    t += 86400LL * 1000000000 + 1111;
  }
  // Directories last (creating their entries changed them), deepest first.
  for (const auto& d : {"sub/nested/deeper", "sub/nested", "sub", "empty dir", "données", ""}) {
    set_mtime_ns(src / d, t);
    t += 3600LL * 1000000000 + 7;
  }
}

std::size_t count_files(const tree& t) {
  std::size_t n = 0;
  for (const auto& [p, e] : t) n += e.type == 'f';
  return n;
}

}  // namespace

TEST_CASE("push a tree and pull it back: content, modes and mtimes round-trip") {
  pair_setup p("roundtrip");
  const fs::path src = p.dir / "src";
  make_tree(src, 10 * 1024 * 1024);
  const tree expected = snapshot(src);

  auto push = p.c({"push", src.string(), "srv:/backup"});
  REQUIRE_MESSAGE(push.exit_code == 0, describe(push));
  CHECK_MESSAGE(!contains(push.out + push.err, "\r"), ("progress bar drawn although stdout is not a terminal\n" +
                                                          describe(push)));

  // "a dir src lands as DIR/src"
  REQUIRE_MESSAGE(fs::is_directory(p.root / "backup" / "src"), describe(push));
  const tree on_server = snapshot(p.root / "backup" / "src");
  CHECK_MESSAGE(tree_diff(expected, on_server) == "", ("server copy differs from source:\n" + tree_diff(expected, on_server)));
  compare_options dirs;
  dirs.mtime_files = false;
  dirs.mtime_dirs = true;
  dirs.mode = false;
  CHECK_MESSAGE(tree_diff(expected, on_server, dirs) == "", ("directory mtimes after push:\n" + tree_diff(expected, on_server, dirs)));
  CHECK_MESSAGE(find_partials(p.root).empty(), "partial files left behind after a successful push");

  auto pull = p.c({"pull", "srv:/backup/src", (p.dir / "restored").string()});
  REQUIRE_MESSAGE(pull.exit_code == 0, describe(pull));
  REQUIRE_MESSAGE(fs::is_directory(p.dir / "restored" / "src"), describe(pull));
  const tree restored = snapshot(p.dir / "restored" / "src");
  CHECK_MESSAGE(tree_diff(expected, restored) == "", ("pulled copy differs from source:\n" + tree_diff(expected, restored)));
  CHECK_MESSAGE(tree_diff(expected, restored, dirs) == "", ("directory mtimes after pull:\n" + tree_diff(expected, restored, dirs)));
  compare_options with_root;
  with_root.root_entry = true;
  with_root.mtime_files = false;
  CHECK_MESSAGE(tree_diff(expected, restored, with_root) == "", (tree_diff(expected, restored, with_root)));
  CHECK_MESSAGE(find_partials(p.dir / "restored").empty(), "partial files left behind after a successful pull");

  // A single file, and "PEER:dir" without a leading slash means the same as "PEER:/dir".
  auto one = p.c({"push", (src / "données" / "menu ☕.txt").string(), "srv:single"});
  CHECK_MESSAGE(one.exit_code == 0, describe(one));
  CHECK(same_content(src / "données" / "menu ☕.txt", p.root / "single" / "menu ☕.txt"));
  auto pull_one = p.c({"pull", "srv:single/menu ☕.txt", (p.dir / "one").string()});
  CHECK_MESSAGE(pull_one.exit_code == 0, describe(pull_one));
  CHECK(same_content(src / "données" / "menu ☕.txt", p.dir / "one" / "menu ☕.txt"));

  // Several sources in one push, several remote paths in one pull.
  auto multi = p.c({"push", (src / "hello.txt").string(), (src / "sub").string(), "srv:/multi"});
  CHECK_MESSAGE(multi.exit_code == 0, describe(multi));
  CHECK(same_content(src / "hello.txt", p.root / "multi" / "hello.txt"));
  CHECK(same_content(src / "sub/nested/deeper/deep.txt", p.root / "multi/sub/nested/deeper/deep.txt"));
  auto multi_pull = p.c({"pull", "srv:/multi/hello.txt", "srv:/multi/sub", (p.dir / "m").string()});
  CHECK_MESSAGE(multi_pull.exit_code == 0, describe(multi_pull));
  CHECK(same_content(src / "hello.txt", p.dir / "m" / "hello.txt"));
  CHECK(same_content(src / "sub/nested/deeper/deep.txt", p.dir / "m/sub/nested/deeper/deep.txt"));
}

TEST_CASE("a second push of an unchanged tree sends no file bytes") {
  pair_setup p("twice");
  const fs::path src = p.dir / "src";
  make_tree(src, 1024 * 1024);
  const std::size_t files = count_files(snapshot(src));

  auto first = p.c({"--json", "push", src.string(), "srv:/t"});
  REQUIRE_MESSAGE(first.exit_code == 0, describe(first));
  auto s1 = find_summary(first.out);
  REQUIRE_MESSAGE(s1.has_value(), describe(first));
  CHECK_MESSAGE((*s1)["files"] == files, describe(first));
  CHECK_MESSAGE((*s1)["bytes"].get<std::uint64_t>() >= 1024 * 1024, describe(first));

  auto second = p.c({"--json", "push", src.string(), "srv:/t"});
  REQUIRE_MESSAGE(second.exit_code == 0, describe(second));
  auto s2 = find_summary(second.out);
  REQUIRE_MESSAGE(s2.has_value(), describe(second));
  CHECK_MESSAGE((*s2)["files"] == files, describe(second));
  CHECK_MESSAGE((s2->contains("up_to_date") && (*s2)["up_to_date"] == files), describe(second));
  CHECK_MESSAGE((*s2)["bytes"] == 0, describe(second));
  // The whole second session is small: metadata only, no 1 MiB of data.
  CHECK_MESSAGE((*s2)["wire_bytes_sent"].get<std::uint64_t>() < 256 * 1024, describe(second));

  // Same for a second pull into the same place.
  auto pull1 = p.c({"--json", "pull", "srv:/t/src", (p.dir / "back").string()});
  REQUIRE_MESSAGE(pull1.exit_code == 0, describe(pull1));
  auto pull2 = p.c({"--json", "pull", "srv:/t/src", (p.dir / "back").string()});
  REQUIRE_MESSAGE(pull2.exit_code == 0, describe(pull2));
  auto s3 = find_summary(pull2.out);
  REQUIRE_MESSAGE(s3.has_value(), describe(pull2));
  CHECK_MESSAGE((*s3)["bytes"] == 0, describe(pull2));
  CHECK_MESSAGE((s3->contains("up_to_date") && (*s3)["up_to_date"] == files), describe(pull2));
}

TEST_CASE("--json summaries: files, bytes, wire bytes, seconds; server logs the session") {
  pair_setup p("json");
  const fs::path f = p.dir / "one-mib.bin";
  write_random_file(f, 1024 * 1024, 7);

  auto push = p.c({"--json", "push", f.string(), "srv:/j"});
  REQUIRE_MESSAGE(push.exit_code == 0, describe(push));
  // Every stdout line is one JSON object.
  std::size_t lines = 0;
  for (char ch : push.out) lines += ch == '\n';
  CHECK_MESSAGE(json_lines(push.out).size() == lines, ("non-JSON line in --json output\n" + describe(push)));
  auto s = find_summary(push.out);
  REQUIRE_MESSAGE(s.has_value(), describe(push));
  for (const char* key : {"files", "bytes", "wire_bytes_sent", "wire_bytes_received", "seconds"})
    CHECK_MESSAGE(s->contains(key), (std::string("summary lacks ") + key + "\n" + describe(push)));
  REQUIRE(s->contains("wire_bytes_sent"));
  CHECK((*s)["files"] == 1);
  CHECK((*s)["bytes"] == 1024 * 1024);
  CHECK_MESSAGE((*s)["wire_bytes_sent"].get<std::uint64_t>() >= 1024 * 1024, describe(push));
  CHECK_MESSAGE((*s)["wire_bytes_received"].get<std::uint64_t>() > 0, describe(push));
  CHECK_MESSAGE((*s)["seconds"].is_number(), describe(push));
  CHECK(same_content(f, p.root / "j" / "one-mib.bin"));

  auto pull = p.c({"--json", "pull", "srv:/j/one-mib.bin", (p.dir / "back").string()});
  REQUIRE_MESSAGE(pull.exit_code == 0, describe(pull));
  auto s2 = find_summary(pull.out);
  REQUIRE_MESSAGE(s2.has_value(), describe(pull));
  CHECK((*s2)["files"] == 1);
  CHECK((*s2)["bytes"] == 1024 * 1024);
  CHECK_MESSAGE((*s2)["wire_bytes_received"].get<std::uint64_t>() >= 1024 * 1024, describe(pull));
  CHECK(same_content(f, p.dir / "back" / "one-mib.bin"));

  // ping: the server's id and a round-trip time.
  auto ping = p.c({"ping", "srv"});
  CHECK_MESSAGE(ping.exit_code == 0, describe(ping));
  CHECK_MESSAGE(contains(ping.out, p.srv.id().substr(0, 8)), describe(ping));

  // The server's log names the peer's address and id, the operation and a rate.
  const std::string log = p.serve->log();
  INFO("server log:\n", log);
  CHECK(contains(log, "127.0.0.1"));
  CHECK(contains(log, p.cli.id().substr(0, 8)));
  CHECK(contains_icase(log, "push"));
  CHECK(contains_icase(log, "pull"));
  CHECK(contains(log, "/s"));
}
