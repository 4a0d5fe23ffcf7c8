// --bwlimit and the limits of config.toml, end to end: a limit holds for
// push, pull and sync whichever side sets it, bad values are usage errors.
// Only lower bounds on time are checked: a limit must hold, while a busy
// machine can only make a run slower. Unlimited, the 4 MiB below take
// ~0.1 s on loopback; at 1 MiB/s they take ~3.9 s (the first 128 KiB block
// leaves at once, each next one 125 ms later).
#include "integration/harness.hpp"

#include <doctest/doctest.h>

using namespace integ;

namespace {

constexpr std::uint64_t k_size = 4 * 1024 * 1024;
constexpr double k_limited_seconds = 3.0;

}  // namespace

TEST_CASE("push --bwlimit and pull --bwlimit hold the rate; the files arrive intact") {
  pair_setup p("bwlimit");
  const fs::path src = p.dir / "four.bin";
  write_random_file(src, k_size, 7);

  auto push = p.c({"push", "--bwlimit", "1M", src.string(), "srv:/in"});
  REQUIRE_MESSAGE(push.exit_code == 0, describe(push));
  CHECK(same_content(src, p.root / "in" / "four.bin"));
  CHECK_MESSAGE(push.seconds >= k_limited_seconds, describe(push));

  // Pull: the client sends almost nothing, so the limit must reach the server.
  auto pull = p.c({"pull", "--bwlimit", "1024", "srv:/in/four.bin", (p.dir / "back").string()});
  REQUIRE_MESSAGE(pull.exit_code == 0, describe(pull));
  CHECK(same_content(src, p.dir / "back" / "four.bin"));
  CHECK_MESSAGE(pull.seconds >= k_limited_seconds, describe(pull));
}

TEST_CASE("client.bwlimit in config.toml and FTSYNC_BWLIMIT limit sync; the flag wins over both") {
  pair_setup p("bwlimit-cfg");
  const fs::path local = p.dir / "folder";
  fs::create_directories(local);
  write_random_file(local / "a.bin", k_size, 8);
  const fs::path cfg = p.dir / "limits.toml";
  write_text(cfg, "[client]\nbwlimit = \"1M\"\n");

  auto sync = p.c({"--config", cfg.string(), "sync", "--once", local.string(), "srv:/folder"});
  REQUIRE_MESSAGE(sync.exit_code == 0, describe(sync));
  CHECK(same_content(local / "a.bin", p.root / "folder" / "a.bin"));
  CHECK_MESSAGE(sync.seconds >= k_limited_seconds, describe(sync));

  // The environment is above the config file.
  write_random_file(p.root / "folder" / "b.bin", k_size, 9);
  auto env = p.cli.ftsync({"--config", cfg.string(), "sync", "--once", local.string(), "srv:/folder"}, 60s,
                          {{"FTSYNC_BWLIMIT", "1M"}});
  REQUIRE_MESSAGE(env.exit_code == 0, describe(env));
  CHECK(same_content(p.root / "folder" / "b.bin", local / "b.bin"));
  CHECK_MESSAGE(env.seconds >= k_limited_seconds, describe(env));

  // --bwlimit 0 lifts both: the same 4 MiB in well under the limited time.
  write_random_file(p.root / "folder" / "c.bin", k_size, 10);
  auto open = p.cli.ftsync({"--config", cfg.string(), "sync", "--once", "--bwlimit", "0", local.string(),
                            "srv:/folder"},
                           60s, {{"FTSYNC_BWLIMIT", "1M"}});
  REQUIRE_MESSAGE(open.exit_code == 0, describe(open));
  CHECK(same_content(p.root / "folder" / "c.bin", local / "c.bin"));
}

TEST_CASE("serve --bwlimit limits what the server sends to every client") {
  temp_dir dir("bwlimit-serve");
  node srv(dir.path(), "srv");
  node cli(dir.path(), "cli");
  srv.init();
  cli.init();
  const fs::path root = dir / "root";
  fs::create_directories(root);
  write_random_file(root / "big.bin", k_size, 11);
  srv.trust(cli, "cli");
  server s(srv, root, 0, {"--bwlimit", "1M", "--max-sessions", "4"});
  cli.trust(srv, "srv", s.address());

  auto pull = cli.ftsync({"pull", "srv:/big.bin", (dir / "got").string()});
  REQUIRE_MESSAGE(pull.exit_code == 0, describe(pull));
  CHECK(same_content(root / "big.bin", dir / "got" / "big.bin"));
  CHECK_MESSAGE(pull.seconds >= k_limited_seconds, describe(pull));
}

TEST_CASE("bad limits are usage errors that name the value") {
  pair_setup p("bwlimit-bad");
  const fs::path f = p.dir / "x.txt";
  write_text(f, "x\n");

  for (const char* bad : {"10X", "-1M", "fast", "1e3K", "0x10", "1K", "2T"}) {
    CAPTURE(bad);
    auto r = p.c({"push", "--bwlimit", bad, f.string(), "srv:/"});
    CHECK_MESSAGE(r.exit_code == 2, describe(r));
    CHECK_MESSAGE(contains(r.err, "512K, 10M"), describe(r));
  }
  auto env = p.cli.ftsync({"push", f.string(), "srv:/"}, 60s, {{"FTSYNC_BWLIMIT", "lots"}});
  CHECK_MESSAGE(env.exit_code == 2, describe(env));
  CHECK_MESSAGE(contains(env.err, "FTSYNC_BWLIMIT"), describe(env));

  const fs::path cfg = p.dir / "bad.toml";
  write_text(cfg, "[client]\nbwlimit = true\n");
  auto typed = p.c({"--config", cfg.string(), "push", f.string(), "srv:/"});
  CHECK_MESSAGE(typed.exit_code == 2, describe(typed));
  CHECK_MESSAGE(contains(typed.err, "bad.toml:2:"), describe(typed));
  CHECK_MESSAGE(contains(typed.err, "client.bwlimit"), describe(typed));

  write_text(cfg, "[serve]\nmax_sessions = 0\n");
  auto sessions = p.srv.ftsync({"--config", cfg.string(), "serve", "--root", p.root.string()}, 20s);
  CHECK_MESSAGE(sessions.exit_code == 2, describe(sessions));
  CHECK_MESSAGE(contains(sessions.err, "serve.max_sessions"), describe(sessions));
  // Nothing was sent by the refused commands.
  CHECK_FALSE(fs::exists(p.root / "x.txt"));
}
