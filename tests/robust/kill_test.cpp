// kill -9 at random moments (issue 5, "Faults"; research/security.md D7):
// the sender or the receiver of a push, a pull or a `sync --once` is
// SIGKILLed mid-transfer FTSYNC_ROBUST_KILLS times in a row (20 in quick
// mode, 200 in soak mode); so is a background `sync` (no --once), which a
// user restarts, or systemd does (examples/systemd: Restart=on-failure).
// After every kill, every file at a final path on the receiver is some
// complete version of its source (hash-equal), never a mix or a prefix; the
// re-runs resume, and the last one completes with every file hash-equal.
//
// The source changes whenever the receiver has caught up, so every round
// has something to transfer, and a partial file of an older version must
// be recognised as stale rather than resumed into a mix.
#include "robust/robust.hpp"

#include <doctest/doctest.h>

#include <algorithm>

#include <signal.h>

#include <random>
#include <set>
#include <thread>

using namespace robust;

namespace {

constexpr std::uint64_t k_mib = 1024 * 1024;

// The source tree: one large file (most kills land in it), a middle one,
// and a directory of small ones. Every version of every file is recorded.
struct source_tree {
  fs::path dir;
  std::map<std::string, std::set<std::string>> versions;  // rel path -> every digest it ever had
  std::uint64_t generation = 0;

  // Writes the files whose turn it is (all of them on generation 0) through
  // a rename, so a reader never sees a half-written source.
  void write(std::uint64_t seed) {
    ++generation;
    const bool all = generation == 1;
    auto put = [&](const std::string& rel, std::uint64_t size) {
      const fs::path tmp = dir.parent_path() / "staging.tmp";
      write_random_file(tmp, size, seed * 131 + std::hash<std::string>{}(rel));
      fs::create_directories((dir / rel).parent_path());
      fs::rename(tmp, dir / rel);
    };
    if (all || generation % 2 == 0) put("big.bin", 48 * k_mib + 12345);
    if (all || generation % 3 == 0) put("mid.bin", 3 * k_mib + 7);
    if (all) {
      for (int i = 0; i < 12; ++i) put("small/s" + std::to_string(i) + ".txt", 100 + i * 997);
    } else {
      put("small/s" + std::to_string(generation % 12) + ".txt", 200 + generation * 31);
      if (generation % 2 == 1) put("big.bin", 48 * k_mib + 12345);
    }
    for (const auto& [rel, digest] : final_files(dir)) versions[rel].insert(digest);
  }
};

// Every final file under `got` is a complete version of the same path in
// the source; "" when so, else the offending paths.
std::string torn_files(const source_tree& src, const fs::path& got) {
  std::string bad;
  for (const auto& [rel, digest] : final_files(got)) {
    const auto it = src.versions.find(rel);
    if (it == src.versions.end()) bad += rel + " (no such source file)\n";
    else if (!it->second.count(digest)) bad += rel + " (content is no version of the source: torn or partial)\n";
  }
  return bad;
}

// Bytes the run's --json file events say were kept from a partial file.
std::uint64_t kept_bytes(const std::string& out) {
  std::uint64_t n = 0;
  for (const auto& j : json_lines(out))
    if (j.value("event", "") == "file" && j.contains("resumed_bytes") && j["resumed_bytes"].is_number_unsigned())
      n += j["resumed_bytes"].get<std::uint64_t>();
  return n;
}

bool caught_up(const source_tree& src, const fs::path& got) { return final_files(src.dir) == final_files(got); }

// Path -> (size, mtime) of the files caught_up() compares: a cheap test
// that can run every few milliseconds while a background sync works
// (hashing both 48 MiB trees each time would blur the kill timing).
std::map<std::string, std::pair<std::uintmax_t, fs::file_time_type>> sizes_and_times(const fs::path& dir) {
  std::map<std::string, std::pair<std::uintmax_t, fs::file_time_type>> out;
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (!it->is_regular_file(ec) || it->path().filename().string().rfind(".ftsync", 0) == 0) continue;
    out[fs::relative(it->path(), dir, ec).string()] = {it->file_size(ec), it->last_write_time(ec)};
  }
  return out;
}

// Sync keeps mtimes, so the cheap test only passes once every file is in.
bool probably_caught_up(const source_tree& src, const fs::path& got) {
  return sizes_and_times(src.dir) == sizes_and_times(got) && caught_up(src, got);
}

struct kill_stats {
  int kills = 0, sender = 0, receiver = 0, finished_first = 0;
  std::uint64_t resumed_bytes = 0;  // kept from partial files by runs that completed
};

// watch: background sync; sync_down: `sync --once` where the changes are
// made in the served folder on the server and flow to the client.
enum class mode { push, pull, sync, watch, sync_down };

// One kill loop. Push, sync and watch: the client sends (their changes are
// made on the client's side); pull and sync_down: the client receives.
void kill_loop(mode m, std::uint64_t seed) {
  const int want = count("FTSYNC_ROBUST_KILLS", 20);
  const bool is_push = m != mode::pull && m != mode::sync_down;
  pair_setup p(m == mode::push        ? "kill-push"
               : m == mode::pull      ? "kill-pull"
               : m == mode::sync      ? "kill-sync"
               : m == mode::sync_down ? "kill-sync-down"
                                      : "kill-watch");
  source_tree src;
  // Push and sync: the client's tree is the source. Pull: the server's root is.
  src.dir = is_push ? p.dir / "src" : p.root / "src";
  src.write(seed);
  const fs::path receiver = m == mode::push        ? p.root / "dst" / "src"
                            : m == mode::pull      ? p.dir / "dst" / "src"
                            : m == mode::sync_down ? p.dir / "local"
                                                   : p.root / "dst";
  const std::vector<std::string> args =
      m == mode::push   ? std::vector<std::string>{"--json", "push", src.dir.string(), "srv:/dst"}
      : m == mode::pull ? std::vector<std::string>{"--json", "pull", "srv:/src", (p.dir / "dst").string()}
      : m == mode::sync ? std::vector<std::string>{"--json", "sync", "--once", src.dir.string(), "srv:/dst"}
      : m == mode::sync_down
          ? std::vector<std::string>{"--json", "sync", "--once", receiver.string(), "srv:/src"}
          : std::vector<std::string>{"--json", "sync", src.dir.string(), "srv:/dst"};
  const char* what = m == mode::push        ? "push"
                     : m == mode::pull      ? "pull"
                     : m == mode::sync      ? "sync --once"
                     : m == mode::sync_down ? "sync --once from the server's side"
                                            : "sync";
  const bool background_sync = m == mode::watch;

  std::mt19937_64 rng(seed);
  kill_stats ks;
  const int max_attempts = want * 3;
  std::uint64_t max_delay_ms = 870;
  for (int attempt = 0; attempt < max_attempts && ks.kills < want; ++attempt) {
    CAPTURE(attempt);
    if (caught_up(src, receiver)) src.write(seed + attempt + 1);
    const bool kill_receiver = rng() % 2 == 0;
    const bool kill_server = is_push ? kill_receiver : !kill_receiver;
    // 30-900 ms: from the handshake to well into the 48 MiB file. Each run
    // that finishes before its kill narrows the range (to no less than
    // 30-130 ms), so fast runs still take `want` kills within max_attempts
    // (once 41 of 60 sync runs finished first and only 19 kills landed).
    const auto delay = std::chrono::milliseconds(30 + rng() % max_delay_ms);

    background bg(p.cli, "run" + std::to_string(attempt), args);
    // A background sync never ends by itself: it is done once the receiver
    // has caught up, and then stopped as a user would (SIGTERM).
    const bool ended_early = wait_until(
        [&] { return !bg.proc->running() || (background_sync && probably_caught_up(src, receiver)); }, delay, 2ms);
    if (ended_early) {
      ++ks.finished_first;
      max_delay_ms = std::max<std::uint64_t>(100, max_delay_ms * 3 / 4);
      if (background_sync) bg.proc->signal(SIGTERM);
      const int code = bg.wait(background_sync ? 10s : 1s);
      CHECK_MESSAGE(code == 0, ("an unkilled run failed\n" + bg.text()));
      ks.resumed_bytes += kept_bytes(read_text(bg.out));
      continue;
    }
    ++ks.kills;
    (kill_receiver ? ks.receiver : ks.sender)++;
    if (kill_server) {
      ::kill(p.serve->pid(), SIGKILL);
      // The client would notice only at its 30 s ENet timeout (covered by
      // the bad-link test); killing it too keeps rounds short.
      bg.proc->signal(SIGKILL);
      (void)bg.wait(10s);
      p.restart_server();
    } else {
      bg.proc->signal(SIGKILL);
      REQUIRE(bg.wait(10s) != -1000);
    }
    const std::string torn = torn_files(src, receiver);
    CHECK_MESSAGE(torn == "", ("after kill " + std::to_string(ks.kills) + " of the " +
                               (kill_server ? "server" : "client") + ":\n" + torn));
  }
  MESSAGE(std::string(what), ": ", ks.kills, " kills (", ks.sender, " sender, ", ks.receiver,
          " receiver), ", ks.finished_first, " runs finished before their kill, ", src.generation,
          " source generations");
  CHECK_MESSAGE(ks.kills == want, "could not land the requested number of kills mid-transfer");
  CHECK(ks.sender > 0);
  CHECK(ks.receiver > 0);

  // The re-run after the last kill resumes and completes.
  if (background_sync) {
    background bg(p.cli, "final", args);
    const bool done = wait_until([&] { return probably_caught_up(src, receiver); }, 180s, 20ms);
    bg.proc->signal(SIGTERM);
    const int code = bg.wait(10s);
    REQUIRE_MESSAGE(done, ("the restarted background sync did not catch up in 180 s\n" + bg.text()));
    CHECK_MESSAGE(code == 0, ("the background sync did not stop cleanly on SIGTERM\n" + bg.text()));
  } else {
    run_result last;
    for (int i = 0; i < 3; ++i) {
      last = p.c(args, 180s);
      if (last.exit_code == 0) break;
      std::this_thread::sleep_for(1s);
    }
    REQUIRE_MESSAGE(last.exit_code == 0, describe(last));
    ks.resumed_bytes += kept_bytes(last.out);
  }
  MESSAGE("re-runs kept ", ks.resumed_bytes / 1024, " KiB from partial files instead of sending them again");
  if (m == mode::push || m == mode::pull) CHECK_MESSAGE(ks.resumed_bytes > 0, "no re-run resumed a partial file");
  CHECK_MESSAGE(caught_up(src, receiver), "the final run did not make the receiver equal to the source");
  CHECK_MESSAGE(torn_files(src, receiver) == "", torn_files(src, receiver));
  const auto partials = find_partials(m == mode::pull ? p.dir / "dst" : m == mode::sync_down ? receiver : p.root);
  CHECK_MESSAGE(partials.empty(), ("partial files left after the final, complete run: " +
                                   (partials.empty() ? std::string() : partials.front().string())));
  CHECK(p.serve->running());
}

}  // namespace

TEST_CASE("kill -9 the sender or the receiver during push, again and again") { kill_loop(mode::push, 501); }

TEST_CASE("kill -9 the sender or the receiver during pull, again and again") { kill_loop(mode::pull, 777); }

TEST_CASE("kill -9 either side during sync --once, again and again") { kill_loop(mode::sync, 913); }

TEST_CASE("kill -9 either side of a background sync, again and again") { kill_loop(mode::watch, 1201); }

TEST_CASE("kill -9 either side during sync --once of changes made on the server, again and again") {
  kill_loop(mode::sync_down, 1409);
}

// Only the server dies; the background sync is left running, as on a
// laptop whose NAS reboots. It notices within its no-answer bound (30 s
// without a reply while the link is quiet), reconnects with backoff once
// the server is back, and finishes: nothing torn on the server meanwhile.
TEST_CASE("a background sync reconnects and completes after its server is killed with -9") {
  const int want = count("FTSYNC_ROBUST_SERVER_KILLS", 1);
  pair_setup p("kill-server-only");
  source_tree src;
  src.dir = p.dir / "src";
  src.write(1601);
  const fs::path receiver = p.root / "dst";
  background bg(p.cli, "watch", {"--json", "sync", src.dir.string(), "srv:/dst"});
  std::mt19937_64 rng(1601);
  for (int k = 1; k <= want; ++k) {
    CAPTURE(k);
    if (k > 1) src.write(1601 + k);
    // Kill it mid-transfer: once part of the 48 MiB file has arrived.
    const bool started = wait_until([&] { return !find_partials(p.root).empty(); }, 30s, 5ms);
    REQUIRE_MESSAGE(started, ("the sync never started a transfer\n" + bg.text()));
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 200));
    ::kill(p.serve->pid(), SIGKILL);
    const std::string torn = torn_files(src, receiver);
    CHECK_MESSAGE(torn == "", ("after killing the server:\n" + torn));
    p.restart_server();
    const auto t0 = std::chrono::steady_clock::now();
    const bool done = wait_until([&] { return probably_caught_up(src, receiver); }, 120s, 50ms);
    const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    REQUIRE_MESSAGE(done, ("the background sync did not catch up within 120 s of the restart\n" + bg.text()));
    MESSAGE("server kill ", k, ": the background sync caught up ", took, " s after the restart");
    REQUIRE(bg.proc->running());
  }
  bg.proc->signal(SIGTERM);
  CHECK_MESSAGE(bg.wait(10s) == 0, ("the background sync did not stop cleanly on SIGTERM\n" + bg.text()));
  CHECK(torn_files(src, receiver) == "");
  CHECK(find_partials(p.root).empty());
  CHECK(contains(bg.text(), "reconnect"));
}
