// The documented exit codes: 2 usage, 3 connection/authentication, 4 remote
// error, 5 local I/O.
#include "integration/harness.hpp"

#include <doctest/doctest.h>

using namespace integ;

TEST_CASE("exit codes: usage 2, connection 3, remote 4, local 5") {
  pair_setup p("exitcodes");
  write_text(p.root / "there.txt", "there");
  write_text(p.dir / "local.txt", "local");

  auto expect = [&](int code, const std::vector<std::string>& args, std::chrono::milliseconds limit = 60s) {
    auto r = p.c(args, limit);
    CHECK_MESSAGE(r.exit_code == code, describe(r));
    CHECK_MESSAGE(!r.err.empty(), ("a failure should say why on stderr\n" + describe(r)));
    return r;
  };

  // Usage errors.
  expect(2, {"--no-such-flag", "ls", "srv:/"});
  expect(2, {"ls", "--no-such-flag", "srv:/"});
  expect(2, {"no-such-command"});
  expect(2, {"push"});
  expect(2, {"push", (p.dir / "local.txt").string()});
  expect(2, {"mv", "srv:/there.txt"});
  auto unknown = expect(2, {"ls", "nopeer:/x"});
  CHECK_MESSAGE(contains(unknown.err, "nopeer"), describe(unknown));
  expect(2, {"ls", "srv"});  // no PEER:PATH
  expect(2, {"push", (p.dir / "local.txt").string(), "nopeer:/x"});
  expect(2, {"pull", "nopeer:/x", (p.dir / "d").string()});
  expect(2, {"serve"});  // --root is required
  CHECK(!fs::exists(p.dir / "d"));

  // Remote errors.
  auto missing = expect(4, {"ls", "srv:/nothing-here"});
  CHECK_MESSAGE(contains(missing.err, "nothing-here"), describe(missing));
  expect(4, {"pull", "srv:/nothing-here", (p.dir / "d2").string()});
  expect(4, {"rm", "srv:/nothing-here"});

  // Local errors.
  auto nosrc = expect(5, {"push", (p.dir / "no-such-local-file").string(), "srv:/x"});
  CHECK_MESSAGE(contains(nosrc.err, "no-such-local-file"), describe(nosrc));
  CHECK(!fs::exists(p.root / "x" / "no-such-local-file"));
  write_text(p.dir / "a-file", "not a dir");
  expect(5, {"pull", "srv:/there.txt", (p.dir / "a-file" / "sub").string()});

  // Connection errors: nobody listens there; bounded by the connect timeout.
  const std::uint16_t dead_port = unused_udp_port();
  node other(p.dir.path(), "other");
  other.init();
  p.cli.trust(other, "dead", "127.0.0.1:" + std::to_string(dead_port));
  auto r = expect(3, {"ls", "dead:/"}, 40s);
  CHECK_MESSAGE(r.seconds < 20, describe(r));
}
