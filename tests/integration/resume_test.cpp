// Interrupted transfers: a push or pull killed midway leaves a partial file
// (never a file at the final path) and a re-run resumes from it; a server
// stopped with SIGTERM during a push exits cleanly and keeps the partial.
#include "integration/harness.hpp"

#include <doctest/doctest.h>

#include <signal.h>

#include <sstream>
#include <thread>

using namespace integ;

namespace {

constexpr std::uint64_t k_mib = 1024 * 1024;

// Peak RSS allowed for a server that received 256 MiB: its window is
// limits::send_window_bytes (4 MiB); ASan's shadow memory and quarantine
// (256 MiB by default) inflate it in the sanitizer build.
#if defined(__SANITIZE_ADDRESS__)
constexpr std::uint64_t k_rss_limit_kib = 600 * 1024;
#else
constexpr std::uint64_t k_rss_limit_kib = 96 * 1024;
#endif

// VmHWM of a process in KiB, 0 when unreadable.
std::uint64_t peak_rss_kib(pid_t pid) {
  std::istringstream in(read_text("/proc/" + std::to_string(pid) + "/status"));
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::stoull(line.substr(6));
  return 0;
}

// A background `ftsync` client of node `n` (output captured to files in its dir).
struct background {
  fs::path out, err;
  std::unique_ptr<child> proc;
  background(const node& n, const std::string& tag, const std::vector<std::string>& args) {
    out = n.dir() / (tag + ".out");
    err = n.dir() / (tag + ".err");
    std::vector<std::string> argv{ftsync_binary().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    proc = std::make_unique<child>(argv, n.env(), out, err);
  }
  std::string text() const { return "--- stdout\n" + read_text(out) + "--- stderr\n" + read_text(err); }
};

// Waits (bounded) until a partial beneath `dir` exceeds `bytes`, while `proc`
// still runs. False when the client ended first or time ran out.
bool wait_for_partial(const fs::path& dir, std::uint64_t bytes, background& bg, std::chrono::milliseconds limit) {
  bool big = false;
  wait_until(
      [&] {
        big = largest_partial(dir) > bytes;
        return big || !bg.proc->running();
      },
      limit, 2ms);
  return big && bg.proc->running();
}

// True when the output says the file was resumed: a JSON file event with
// action "resumed" and resumed_bytes > 0, a summary with resumed_bytes > 0,
// or a human line mentioning "resumed".
bool says_resumed(const run_result& r, std::uint64_t* resumed_bytes) {
  for (const auto& j : all_json_objects(r.out)) {
    if (j.contains("resumed_bytes") && j["resumed_bytes"].is_number_unsigned() && j["resumed_bytes"].get<std::uint64_t>() > 0) {
      *resumed_bytes = j["resumed_bytes"].get<std::uint64_t>();
      return true;
    }
  }
  return contains_icase(r.out, "resumed") || contains_icase(r.err, "resumed");
}

// Re-runs `args` once; when the first attempt fails (for example the server
// still holds the dead session's partial file), CHECK-fails and retries up
// to `limit` so the rest of the test can still verify the resume itself.
run_result rerun(const pair_setup& p, const std::vector<std::string>& args, std::chrono::seconds limit) {
  auto r = p.c(args, 120s);
  CHECK_MESSAGE(r.exit_code == 0, ("re-run right after the interruption failed\n" + describe(r)));
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (r.exit_code != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1s);
    r = p.c(args, 120s);
  }
  return r;
}

}  // namespace

TEST_CASE("a push killed midway resumes; so does a pull") {
  pair_setup p("resume");
  const std::uint64_t size = 256 * k_mib;
  const fs::path src = p.dir / "big.bin";
  write_random_file(src, size, 2024);
  const fs::path target_dir = p.root / "up";

  {
    background bg(p.cli, "push1", {"--json", "push", src.string(), "srv:/up"});
    const bool midway = wait_for_partial(target_dir, 50 * k_mib, bg, 60s);
    REQUIRE_MESSAGE(midway, ("the push never had a partial file over 50 MiB while running\n" + bg.text()));
    bg.proc->signal(SIGKILL);
    REQUIRE(bg.proc->wait_for(10s).has_value());
  }
  CHECK_MESSAGE(!fs::exists(target_dir / "big.bin"), "a file appeared at its final path before it was complete");
  CHECK(!find_partials(target_dir).empty());
  // The partial is ftsync's own: not listed.
  auto ls = p.c({"ls", "srv:/up"});
  CHECK_MESSAGE(ls.exit_code == 0, describe(ls));
  CHECK_MESSAGE(!contains(ls.out, ".ftsync"), describe(ls));

  auto again = rerun(p, {"--json", "push", src.string(), "srv:/up"}, 45s);
  REQUIRE_MESSAGE(again.exit_code == 0, describe(again));
  std::uint64_t resumed = 0;
  CHECK_MESSAGE(says_resumed(again, &resumed), ("the re-run push does not say it resumed\n" + describe(again)));
  CHECK(resumed >= 40 * k_mib);
  if (auto s = find_summary(again.out)) {
    CHECK_MESSAGE((*s)["bytes"].get<std::uint64_t>() < size, ("the re-run sent the whole file again\n" + describe(again)));
  }
  REQUIRE(fs::exists(target_dir / "big.bin"));
  CHECK(same_content(src, target_dir / "big.bin"));
  CHECK(find_partials(target_dir).empty());
  // Bounded memory: receiving 256 MiB must not hold the file in RAM.
  const std::uint64_t hwm = peak_rss_kib(p.serve->pid());
  CHECK_MESSAGE(hwm > 0, "cannot read VmHWM of the server");
  CHECK_MESSAGE(hwm < k_rss_limit_kib, ("server peak RSS " + std::to_string(hwm / 1024) + " MiB after a 256 MiB push"));

  // Pull the same file, killed midway, then resumed.
  const fs::path dest = p.dir / "down";
  {
    background bg(p.cli, "pull1", {"--json", "pull", "srv:/up/big.bin", dest.string()});
    const bool midway = wait_for_partial(dest, 50 * k_mib, bg, 60s);
    REQUIRE_MESSAGE(midway, ("the pull never had a partial file over 50 MiB while running\n" + bg.text()));
    bg.proc->signal(SIGKILL);
    REQUIRE(bg.proc->wait_for(10s).has_value());
  }
  CHECK_MESSAGE(!fs::exists(dest / "big.bin"), "a pulled file appeared at its final path before it was complete");
  CHECK(!find_partials(dest).empty());
  auto pull = rerun(p, {"--json", "pull", "srv:/up/big.bin", dest.string()}, 30s);
  REQUIRE_MESSAGE(pull.exit_code == 0, describe(pull));
  std::uint64_t pulled_resumed = 0;
  CHECK_MESSAGE(says_resumed(pull, &pulled_resumed), ("the re-run pull does not say it resumed\n" + describe(pull)));
  CHECK(pulled_resumed >= 40 * k_mib);
  REQUIRE(fs::exists(dest / "big.bin"));
  CHECK(same_content(src, dest / "big.bin"));
  CHECK(find_partials(dest).empty());
}

TEST_CASE("SIGTERM to the server during a push: clean exit, partial kept, re-push completes") {
  pair_setup p("sigterm");
  const std::uint64_t size = 128 * k_mib;
  const fs::path src = p.dir / "mid.bin";
  write_random_file(src, size, 99);
  const fs::path target_dir = p.root / "in";

  background bg(p.cli, "push", {"--json", "push", src.string(), "srv:/in"});
  const bool midway = wait_for_partial(target_dir, 20 * k_mib, bg, 60s);
  REQUIRE_MESSAGE(midway, ("the push never had a partial file over 20 MiB while running\n" + bg.text()));
  const int code = p.serve->stop(10s);
  CHECK_MESSAGE(code == 0, ("server exit " + std::to_string(code) + "\n" + p.serve->log()));
  CHECK(p.serve->stop_seconds() < 5);
  CHECK_MESSAGE(!fs::exists(target_dir / "mid.bin"), "a file appeared at its final path before it was complete");
  CHECK_MESSAGE(!find_partials(target_dir).empty(), "the server removed the partial file on shutdown");

  // The client notices and fails (bounded).
  auto st = bg.proc->wait_for(60s);
  CHECK_MESSAGE(st.has_value(), ("the client kept running after its server went away\n" + bg.text()));
  if (st) {
    int ec = 0, sig = 0;
    decode_status(*st, ec, sig);
    CHECK_MESSAGE(ec != 0, bg.text());
    CHECK_MESSAGE(sig == 0, bg.text());
  }

  p.restart_server();
  auto again = p.c({"--json", "push", src.string(), "srv:/in"}, 120s);
  REQUIRE_MESSAGE(again.exit_code == 0, describe(again));
  std::uint64_t resumed = 0;
  CHECK_MESSAGE(says_resumed(again, &resumed), ("the re-push does not say it resumed\n" + describe(again)));
  CHECK(same_content(src, target_dir / "mid.bin"));
  CHECK(find_partials(target_dir).empty());
}

// Partial files nobody will resume: `serve` and `sync` remove those untouched
// for a day (limits::stale_partial_age_s) from their folder when they start,
// at any depth, and keep younger ones, which a re-run may still resume.
TEST_CASE("serve and sync remove day-old partial files at start and keep recent ones") {
  pair_setup p("stale-partials");
  const fs::path local = p.dir / "local";
  fs::create_directories(local / "deep" / "er");
  fs::create_directories(p.root / "sub");
  const std::int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count();
  const std::int64_t two_days_ago = now_ns - 2LL * 24 * 3600 * 1'000'000'000;
  auto plant = [&](const fs::path& dir, const char* hex, bool old) {
    const fs::path f = dir / (std::string(".ftsync.") + hex + ".part");
    write_text(f, "half a file");
    if (old) set_mtime_ns(f, two_days_ago);
    return f;
  };
  const auto srv_old = plant(p.root / "sub", "00000000000000a1", true);
  const auto srv_new = plant(p.root, "00000000000000a2", false);
  const auto cli_old = plant(local / "deep" / "er", "00000000000000b1", true);
  const auto cli_new = plant(local, "00000000000000b2", false);
  p.restart_server();
  CHECK_FALSE(fs::exists(srv_old));
  CHECK(fs::exists(srv_new));
  CHECK(fs::exists(cli_old));  // only the folder a command serves or syncs
  auto r = p.c({"--json", "sync", "--once", local.string(), "srv:/"});
  CHECK_MESSAGE(r.exit_code == 0, describe(r));
  CHECK_FALSE(fs::exists(cli_old));
  CHECK(fs::exists(cli_new));
  CHECK(fs::exists(srv_new));
}
