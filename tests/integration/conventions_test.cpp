// Output conventions every command keeps (issue 6): --json prints one JSON
// object per line on stdout, errors included; --help works on every
// subcommand and shows an example; --version, also as JSON; no progress bar
// or escape codes when stdout and stderr are not terminals. The test names
// have no commas, so doctest's -tc= (comma-separated) can select them.
#include "integration/harness.hpp"

#include <doctest/doctest.h>

#include <set>
#include <sstream>

using namespace integ;

namespace {

// Every non-empty stdout line must be a JSON object.
void check_json_lines(const run_result& r, std::size_t at_least) {
  std::istringstream in(r.out);
  std::string line;
  std::size_t objects = 0;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    const json j = json::parse(line, nullptr, false);
    CHECK_MESSAGE((!j.is_discarded() && j.is_object()), ("not a JSON object: " + line + "\n" + describe(r)));
    ++objects;
  }
  CHECK_MESSAGE(objects >= at_least, describe(r));
}

// The commands the binary has (the hidden __complete helper lists them), so
// a command added later is checked without editing this test.
std::vector<std::string> commands(const node& n) {
  auto r = n.ftsync({"__complete", "commands"});
  REQUIRE_MESSAGE(r.exit_code == 0, describe(r));
  std::vector<std::string> names;
  std::istringstream in(r.out);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) names.push_back(line.substr(0, line.find('\t')));
  return names;
}

}  // namespace

TEST_CASE("--json: every command prints one JSON object per line (errors too)") {
  pair_setup p("conv-json");
  write_text(p.root / "there.txt", "there");
  write_text(p.dir / "local.txt", "local");
  const std::string local_dir = (p.dir / "pulled").string();

  struct step {
    std::vector<std::string> args;
    int exit;
  };
  const std::vector<step> steps = {
      {{"id"}, 0},
      {{"peers"}, 0},
      {{"ping", "srv"}, 0},
      {{"ls", "srv:/"}, 0},
      {{"push", (p.dir / "local.txt").string(), "srv:/up"}, 0},
      {{"pull", "srv:/there.txt", local_dir}, 0},
      {{"mkdir", "-p", "srv:/a/b"}, 0},
      {{"mv", "srv:/a/b", "srv:/a/c"}, 0},
      {{"rmdir", "srv:/a/c"}, 0},
      {{"rm", "srv:/up/local.txt"}, 0},
      {{"rm", "-r", "srv:/a"}, 0},
      {{"ls", "srv:/nothing-here"}, 4},
      {{"ls", "nopeer:/"}, 2},
      {{"no-such-command"}, 2},
      {{"push"}, 2},
  };
  for (const auto& s : steps) {
    std::vector<std::string> args = {"--json"};
    args.insert(args.end(), s.args.begin(), s.args.end());
    auto r = p.c(args);
    CHECK_MESSAGE(r.exit_code == s.exit, describe(r));
    check_json_lines(r, 1);
    if (s.exit != 0) {
      const auto objs = json_lines(r.out);
      REQUIRE_MESSAGE(!objs.empty(), describe(r));
      CHECK_MESSAGE(objs.back().value("event", "") == "error", describe(r));
      CHECK_MESSAGE(!objs.back().value("message", "").empty(), describe(r));
      CHECK_MESSAGE(!r.err.empty(), ("the error is on stderr too\n" + describe(r)));
    }
  }

  // The commands that change the node itself, on a fresh one.
  node fresh(p.dir.path(), "fresh");
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"--json", "keygen"},
           {"--json", "trust", p.srv.id(), "--name", "srv2", "--address", p.serve->address()},
           {"--json", "untrust", "srv2"},
           {"--json", "keygen"}}) {  // exists: an error, as JSON
    auto r = fresh.ftsync(args);
    check_json_lines(r, 1);
  }
  // serve: its first line says where it listens (the harness REQUIREd it).
  const auto listening = json_lines(p.serve->out());
  REQUIRE(!listening.empty());
  CHECK(listening.front().value("event", "") == "listening");
}

TEST_CASE("--help on every subcommand: exit 0 with usage and an example; hidden helpers stay hidden") {
  temp_dir dir("conv-help");
  node n(dir.path(), "n");
  const auto names = commands(n);
  const std::set<std::string> listed(names.begin(), names.end());
  for (const char* c : {"keygen", "id", "trust", "untrust", "peers", "serve", "ping", "ls", "push", "pull",
                        "mkdir", "rmdir", "rm", "mv"})
    CHECK_MESSAGE(listed.count(c) == 1, c);
  CHECK(listed.count("__complete") == 0);

  for (const auto& c : names) {
    auto r = n.ftsync({c, "--help"});
    CHECK_MESSAGE(r.exit_code == 0, describe(r));
    CHECK_MESSAGE(contains(r.out, "Usage: ftsync " + c), describe(r));
    CHECK_MESSAGE(contains(r.out, "Example:\n  ftsync "), describe(r));
  }
  auto top = n.ftsync({"--help"});
  CHECK(top.exit_code == 0);
  CHECK_MESSAGE(!contains(top.out, "__complete"), describe(top));
  for (const auto& c : names) CHECK_MESSAGE(contains(top.out, "  " + c + " "), c);
}

TEST_CASE("--version as text and as JSON") {
  temp_dir dir("conv-version");
  node n(dir.path(), "n");
  auto text = n.ftsync({"--version"});
  CHECK(text.exit_code == 0);
  CHECK_MESSAGE(text.out.rfind("ftsync ", 0) == 0, describe(text));
  auto j = n.ftsync({"--json", "--version"});
  CHECK(j.exit_code == 0);
  const auto objs = json_lines(j.out);
  REQUIRE_MESSAGE(objs.size() == 1, describe(j));
  CHECK(objs[0].value("event", "") == "version");
  CHECK("ftsync " + objs[0].value("version", "") + "\n" == text.out);
}

TEST_CASE("not a terminal: no progress bar and no escape codes even without NO_COLOR") {
  pair_setup p("conv-tty");
  write_random_file(p.dir / "big.bin", 8 << 20, 6);
  write_text(p.root / "there.txt", "there");
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"push", (p.dir / "big.bin").string(), "srv:/in"},
           {"pull", "srv:/in/big.bin", (p.dir / "back").string()},
           {"ls", "srv:/in"},
           {"ls", "srv:/nothing-here"}}) {
    auto r = p.c(args);
    CHECK_MESSAGE(!contains(r.out, "\033"), describe(r));
    CHECK_MESSAGE(!contains(r.err, "\033"), describe(r));
    CHECK_MESSAGE(!contains(r.err, "\r"), ("a progress line was drawn\n" + describe(r)));
  }
}
