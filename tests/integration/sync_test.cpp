// Folder sync (issue 4) between two real nodes on 127.0.0.1: `ftsync serve`
// on one, `ftsync sync` on the other. Every change kind on each side
// converges; only changed data travels; ignore rules; conflicts keep both
// versions; an unchanged restart re-reads nothing; the background mode
// propagates a change within a second.
#include "integration/harness.hpp"

#include <doctest/doctest.h>

#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <fstream>
#include <regex>
#include <set>
#include <thread>

using namespace integ;

namespace {

json sync_once(const pair_setup& p, const fs::path& local, const std::string& remote = "srv:/") {
  auto r = p.c({"--json", "sync", "--once", local.string(), remote});
  REQUIRE_MESSAGE(r.exit_code == 0, describe(r));
  auto s = find_summary(r.out);
  REQUIRE_MESSAGE(s.has_value(), describe(r));
  CHECK((*s)["op"] == "sync");
  CHECK(s->contains("wire_bytes_sent"));
  CHECK(s->contains("wire_bytes_received"));
  return *s;
}

std::string same_trees(const fs::path& a, const fs::path& b) {
  compare_options o;
  o.mtime_files = true;
  o.mode = true;
  return tree_diff(snapshot(a), snapshot(b), o);
}

void overwrite_at(const fs::path& file, std::uint64_t offset, std::uint64_t size, std::uint64_t seed) {
  const fs::path tmp = file.string() + ".patch";
  write_random_file(tmp, size, seed);
  const std::string patch = read_text(tmp);
  fs::remove(tmp);
  std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(patch.data(), static_cast<std::streamsize>(patch.size()));
}

void insert_at(const fs::path& file, std::uint64_t offset, const std::string& text) {
  std::string all = read_text(file);
  all.insert(offset, text);
  std::ofstream o(file, std::ios::binary | std::ios::trunc);
  o.write(all.data(), static_cast<std::streamsize>(all.size()));
}

std::vector<std::string> conflict_copies(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& de : fs::directory_iterator(dir))
    if (de.path().filename().string().find(".sync-conflict-") != std::string::npos)
      out.push_back(de.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("sync --once: creates, edits, deletes, renames, mkdir and rmdir on either side converge") {
  pair_setup p("sync-basic");
  const fs::path local = p.dir / "local";  // created by sync
  // Before the first sync: content on both sides.
  fs::create_directories(p.root / "s" / "deep");
  fs::create_directories(p.root / "empty-on-server");
  write_text(p.root / "s" / "c.txt", "from the server\n");
  write_random_file(p.root / "s" / "deep" / "r.bin", 300000, 1);
  fs::create_directories(local / "sub");
  fs::create_directories(local / "empty-local");
  write_text(local / "a.txt", "local a\n");
  write_text(local / "ünï cödé.txt", "unicode\n");
  write_random_file(local / "sub" / "b.bin", 500000, 2);
  fs::permissions(local / "a.txt", fs::perms(0600));
  set_mtime_ns(local / "a.txt", 1600000000123456789LL);

  auto s1 = sync_once(p, local);
  CHECK(s1["files"] == 5);
  CHECK_MESSAGE(same_trees(local, p.root) == "", same_trees(local, p.root));
  CHECK(find_partials(p.root).empty());
  CHECK(find_partials(local).empty());
  CHECK(fs::is_directory(p.root / "empty-local"));
  CHECK(fs::is_directory(local / "empty-on-server"));

  // Changes on both sides.
  write_text(local / "a.txt", "local a, edited\n");
  fs::remove(local / "sub" / "b.bin");
  fs::create_directories(local / "moved");
  fs::rename(local / "ünï cödé.txt", local / "moved" / "renamed.txt");
  fs::remove(local / "empty-local");
  fs::create_directories(local / "new-dir" / "inner");
  write_text(p.root / "srv-new.txt", "new on the server\n");
  write_text(p.root / "s" / "c.txt", "edited on the server\n");
  fs::remove(p.root / "s" / "deep" / "r.bin");
  fs::remove(p.root / "s" / "deep");
  fs::remove(p.root / "empty-on-server");
  fs::permissions(p.root / "s", fs::perms(0750));

  auto s2 = sync_once(p, local);
  CHECK_MESSAGE(same_trees(local, p.root) == "", same_trees(local, p.root));
  CHECK(read_text(p.root / "a.txt") == "local a, edited\n");
  CHECK(read_text(local / "s" / "c.txt") == "edited on the server\n");
  CHECK(read_text(local / "srv-new.txt") == "new on the server\n");
  CHECK_FALSE(fs::exists(p.root / "sub" / "b.bin"));
  CHECK_FALSE(fs::exists(local / "s" / "deep"));
  CHECK_FALSE(fs::exists(p.root / "empty-local"));
  CHECK_FALSE(fs::exists(local / "empty-on-server"));
  CHECK(fs::is_directory(p.root / "new-dir" / "inner"));
  CHECK(read_text(p.root / "moved" / "renamed.txt") == "unicode\n");
  CHECK_FALSE(fs::exists(p.root / "ünï cödé.txt"));
  CHECK(s2["renamed"] == 1);
  CHECK((fs::status(local / "s").permissions() & fs::perms::all) == fs::perms(0750));

  // Metadata only: an mtime changed here, a mode there.
  set_mtime_ns(local / "a.txt", 1650000000000000001LL);
  fs::permissions(p.root / "srv-new.txt", fs::perms(0604));
  auto meta = sync_once(p, local);
  CHECK(meta["bytes"] == 0);
  CHECK(mtime_ns(p.root / "a.txt") == 1650000000000000001LL);
  CHECK((fs::status(local / "srv-new.txt").permissions() & fs::perms::all) == fs::perms(0604));
  CHECK_MESSAGE(same_trees(local, p.root) == "", same_trees(local, p.root));

  // Nothing changed: a third run moves no file data and re-reads no file.
  auto s3 = sync_once(p, local);
  CHECK(s3["files"] == 0);
  CHECK(s3["bytes"] == 0);
  CHECK(s3["hashed_files"] == 0);
  CHECK(s3["rounds"] == 1);
}

TEST_CASE("sync --once: only changed data travels (1 MiB overwrite, 100-byte insertion, rename)") {
  pair_setup p("sync-delta");
  const fs::path local = p.dir / "local";
  fs::create_directories(local);
  constexpr std::uint64_t size = 64ull << 20;
  write_random_file(local / "big.bin", size, 7);
  auto first = sync_once(p, local);
  CHECK(first["bytes"] == size);
  REQUIRE(same_content(local / "big.bin", p.root / "big.bin"));

  // 1 MiB overwritten in the middle: about 1 MiB travels.
  overwrite_at(local / "big.bin", 30ull << 20, 1 << 20, 0x1111111111ULL);  // far-apart seeds: no shared data
  auto s = sync_once(p, local);
  const double mib = 1024.0 * 1024.0;
  MESSAGE("1 MiB overwrite: bytes " << s["bytes"].get<double>() / mib << " MiB, wire sent "
                                    << s["wire_bytes_sent"].get<double>() / mib << " MiB");
  CHECK(s["bytes"].get<double>() >= 1.0 * mib);
  CHECK(s["bytes"].get<double>() <= 1.5 * mib);
  CHECK(s["wire_bytes_sent"].get<double>() <= 1.7 * mib);
  CHECK(same_content(local / "big.bin", p.root / "big.bin"));

  // 100 bytes inserted in the middle: a few chunks, not the rest of the file.
  insert_at(local / "big.bin", 20ull << 20, std::string(100, 'i'));
  s = sync_once(p, local);
  MESSAGE("100-byte insertion: bytes " << s["bytes"] << ", wire sent " << s["wire_bytes_sent"]);
  CHECK(s["bytes"].get<double>() <= 512 * 1024);
  CHECK(s["wire_bytes_sent"].get<double>() <= 700 * 1024);
  CHECK(same_content(local / "big.bin", p.root / "big.bin"));

  // The same on the way back: the server edits, the client pulls ~1 MiB.
  overwrite_at(p.root / "big.bin", 10ull << 20, 1 << 20, 0x2222222222ULL);
  s = sync_once(p, local);
  MESSAGE("1 MiB overwrite on the server: received " << s["bytes_received"] << ", wire received "
                                                     << s["wire_bytes_received"]);
  CHECK(s["bytes_received"].get<double>() <= 1.5 * mib);
  CHECK(s["wire_bytes_received"].get<double>() <= 2.0 * mib);  // one request per chunk, and ENet acks
  CHECK(same_content(local / "big.bin", p.root / "big.bin"));

  // A move on either side sends no file data.
  fs::create_directories(local / "archive");
  fs::rename(local / "big.bin", local / "archive" / "big-renamed.bin");
  s = sync_once(p, local);
  CHECK(s["bytes"] == 0);
  CHECK(s["renamed"] == 1);
  CHECK(s["wire_bytes_sent"].get<double>() < 64 * 1024);
  CHECK(fs::exists(p.root / "archive" / "big-renamed.bin"));
  CHECK_FALSE(fs::exists(p.root / "big.bin"));
  fs::rename(p.root / "archive" / "big-renamed.bin", p.root / "back.bin");
  s = sync_once(p, local);
  CHECK(s["bytes"] == 0);
  CHECK(s["wire_bytes_received"].get<double>() < 64 * 1024);
  CHECK(same_content(p.root / "back.bin", local / "back.bin"));

  // A copy of an existing file is built from local blocks: nothing sent.
  fs::copy_file(local / "back.bin", local / "copy.bin");
  s = sync_once(p, local);
  CHECK(s["bytes"] == 0);
  CHECK(same_content(local / "copy.bin", p.root / "copy.bin"));
  CHECK_MESSAGE(same_trees(local, p.root) == "", same_trees(local, p.root));
}

TEST_CASE("sync --once: .ftsyncignore patterns keep paths local; ftsync's own files never travel") {
  pair_setup p("sync-ignore");
  const fs::path local = p.dir / "local";
  fs::create_directories(local / "build" / "obj");
  fs::create_directories(local / "src" / "logs");
  write_text(local / ".ftsyncignore", "# local only\n*.tmp\n!keep.tmp\nbuild/\n/top-only.txt\nsrc/**/*.log\n");
  write_text(local / "x.tmp", "scratch");
  write_text(local / "keep.tmp", "kept");
  write_text(local / "build" / "obj" / "a.o", "object");
  write_text(local / "top-only.txt", "only at the top");
  write_text(local / "src" / "top-only.txt", "deeper is synced");
  write_text(local / "src" / "main.c", "int main;");
  write_text(local / "src" / "logs" / "run.log", "log");
  sync_once(p, local);
  CHECK(fs::exists(p.root / "keep.tmp"));
  CHECK(fs::exists(p.root / "src" / "main.c"));
  CHECK(fs::exists(p.root / "src" / "top-only.txt"));
  CHECK_FALSE(fs::exists(p.root / "x.tmp"));
  CHECK_FALSE(fs::exists(p.root / "build"));
  CHECK_FALSE(fs::exists(p.root / "top-only.txt"));
  CHECK_FALSE(fs::exists(p.root / "src" / "logs" / "run.log"));
  CHECK_FALSE(fs::exists(p.root / ".ftsyncignore"));
  // A file the server has under an ignored name is not pulled either.
  write_text(p.root / "remote.tmp", "stays there");
  sync_once(p, local);
  CHECK_FALSE(fs::exists(local / "remote.tmp"));
  // Nothing of ftsync's own (index, partial files) appears in either folder.
  for (const auto& d : {local, p.root})
    for (auto it = fs::recursive_directory_iterator(d); it != fs::recursive_directory_iterator(); ++it)
      CHECK_MESSAGE(it->path().filename().string().rfind(".ftsync.", 0) != 0, it->path().string());
}

TEST_CASE("sync --once: concurrent edits keep both versions; delete-vs-edit keeps the edit") {
  pair_setup p("sync-conflict");
  const fs::path local = p.dir / "local";
  fs::create_directories(local);
  write_text(local / "doc.txt", "original\n");
  write_text(local / "gone-here.txt", "v1\n");
  write_text(local / "gone-there.txt", "v1\n");
  sync_once(p, local);
  REQUIRE(fs::exists(p.root / "doc.txt"));

  write_text(local / "doc.txt", "edited on the client\n");
  set_mtime_ns(local / "doc.txt", 1700000000000000000LL);
  write_text(p.root / "doc.txt", "edited on the server\n");
  set_mtime_ns(p.root / "doc.txt", 1700000100000000000LL);  // newer: keeps the name
  fs::remove(local / "gone-here.txt");
  write_text(p.root / "gone-here.txt", "edited on the server after the client deleted it\n");
  write_text(local / "gone-there.txt", "edited on the client\n");
  fs::remove(p.root / "gone-there.txt");

  auto r = p.c({"--json", "sync", "--once", local.string(), "srv:/"});
  REQUIRE_MESSAGE(r.exit_code == 0, describe(r));
  auto s = find_summary(r.out);
  REQUIRE(s.has_value());
  CHECK((*s)["conflicts"] == 1);
  CHECK_MESSAGE(contains(r.err, "conflict"), describe(r));  // the event is logged

  CHECK(read_text(local / "doc.txt") == "edited on the server\n");
  CHECK(read_text(p.root / "doc.txt") == "edited on the server\n");
  const auto here = conflict_copies(local);
  const auto there = conflict_copies(p.root);
  REQUIRE(here.size() == 1);
  REQUIRE(there == here);
  const std::regex form(R"(doc\.sync-conflict-\d{8}-\d{6}-[A-Z2-7]{8}\.txt)");
  CHECK_MESSAGE(std::regex_match(here[0], form), here[0]);
  CHECK(read_text(local / here[0]) == "edited on the client\n");
  CHECK(read_text(p.root / here[0]) == "edited on the client\n");
  // Delete vs edit: the edit wins on both sides, whichever side deleted.
  CHECK(read_text(local / "gone-here.txt") == "edited on the server after the client deleted it\n");
  CHECK(read_text(p.root / "gone-here.txt") == "edited on the server after the client deleted it\n");
  CHECK(read_text(local / "gone-there.txt") == "edited on the client\n");
  CHECK(read_text(p.root / "gone-there.txt") == "edited on the client\n");
  CHECK_MESSAGE(same_trees(local, p.root) == "", same_trees(local, p.root));

  // The other way round: the client's version is newer and keeps the name.
  write_text(local / "doc.txt", "client wins\n");
  set_mtime_ns(local / "doc.txt", 1800000000000000000LL);
  write_text(p.root / "doc.txt", "server loses\n");
  set_mtime_ns(p.root / "doc.txt", 1700000000000000000LL);
  auto s2 = sync_once(p, local);
  CHECK(s2["conflicts"] == 1);
  CHECK(read_text(p.root / "doc.txt") == "client wins\n");
  CHECK(read_text(local / "doc.txt") == "client wins\n");
  const auto both = conflict_copies(local);
  CHECK(both.size() == 2);
  CHECK(conflict_copies(p.root) == both);
  bool kept = false;
  for (const auto& n : both) kept = kept || read_text(p.root / n) == "server loses\n";
  CHECK(kept);
  CHECK_MESSAGE(same_trees(local, p.root) == "", same_trees(local, p.root));
}

TEST_CASE("sync in the background: a change on either side arrives within a second; status shows it") {
  pair_setup p("sync-live");
  const fs::path local = p.dir / "local";
  fs::create_directories(local);
  write_text(local / "seed.txt", "seed\n");
  const std::vector<std::string> argv = {ftsync_binary().string(), "--json", "sync", local.string(), "srv:/"};
  child bg(argv, p.cli.env(), p.dir / "sync.out", p.dir / "sync.err");
  REQUIRE_MESSAGE(wait_until([&] { return fs::exists(p.root / "seed.txt"); }, 15s),
                  read_text(p.dir / "sync.err"));

  // Local change -> peer: watcher, 100 ms debounce, one round.
  auto t0 = std::chrono::steady_clock::now();
  write_text(local / "live.txt", "written while syncing\n");
  REQUIRE(wait_until([&] { return fs::exists(p.root / "live.txt") && read_text(p.root / "live.txt") == "written while syncing\n"; },
                     5s, 5ms));
  const double up = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  MESSAGE("local change reached the server in " << up << " s");
  CHECK(up < 1.0);

  // Change made directly in the served folder -> client (the server's
  // watcher marks its index stale; the client polls every 250 ms).
  t0 = std::chrono::steady_clock::now();
  write_text(p.root / "from-server.txt", "made on the server\n");
  REQUIRE(wait_until([&] { return fs::exists(local / "from-server.txt") && read_text(local / "from-server.txt") == "made on the server\n"; },
                     5s, 5ms));
  const double down = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  MESSAGE("server-side change reached the client in " << down << " s");
  CHECK(down < 1.0);

  // Deletions and edits keep flowing.
  fs::remove(local / "seed.txt");
  CHECK(wait_until([&] { return !fs::exists(p.root / "seed.txt"); }, 5s));
  write_text(p.root / "live.txt", "edited on the server\n");
  CHECK(wait_until([&] { return read_text(local / "live.txt") == "edited on the server\n"; }, 5s));

  auto st = p.c({"--json", "status"});
  REQUIRE_MESSAGE(st.exit_code == 0, describe(st));
  json status;
  for (const auto& j : json_lines(st.out))
    if (j.value("event", "") == "status") status = j;
  REQUIRE(status.contains("syncs"));
  REQUIRE(status["syncs"].size() == 1);
  const auto& s = status["syncs"][0];
  CHECK(s["running"] == true);
  CHECK(s["connected"] == true);
  CHECK(s["peer"] == "srv");
  CHECK(s.contains("pending_files"));
  CHECK(s.contains("pending_bytes"));
  CHECK(s["last_sync_ns"].get<std::int64_t>() > 0);
  CHECK(s.contains("rate_up_bytes_per_second"));
  CHECK(s.contains("conflicts"));
  auto human = p.c({"status"});
  CHECK_MESSAGE(contains(human.out, "connected"), describe(human));

  bg.signal(SIGTERM);
  auto raw = bg.wait_for(10s);
  REQUIRE(raw.has_value());
  int code = -1, sig = 0;
  decode_status(*raw, code, sig);
  CHECK(code == 0);
  auto after = p.c({"--json", "status"});
  CHECK(contains(after.out, "\"running\":false"));
  CHECK_MESSAGE(same_trees(local, p.root) == "", same_trees(local, p.root));
}

// Background rounds rescan only what the watcher named and plan only the
// paths that changed since the last plan (the full rescan is an hour away
// here): every kind of change on either side must still converge, and a new
// .ftsyncignore takes effect at once.
TEST_CASE("sync in the background: watcher-driven rounds converge on every kind of change, both sides") {
  pair_setup p("sync-incremental");
  const fs::path local = p.dir / "local";
  fs::create_directories(local / "a" / "sub");
  write_text(local / "a" / "1.txt", "one\n");
  write_text(local / "a" / "sub" / "2.txt", "two\n");
  write_text(local / "b.txt", "bee\n");
  const std::vector<std::string> argv = {ftsync_binary().string(), "sync", "--rescan-interval", "3600",
                                         local.string(), "srv:/"};
  child bg(argv, p.cli.env(), p.dir / "sync.out", p.dir / "sync.err");
  auto converged = [&] { return wait_until([&] { return same_trees(local, p.root).empty(); }, 10s, 20ms); };
  REQUIRE_MESSAGE(converged(), (same_trees(local, p.root) + read_text(p.dir / "sync.err")));

  // Local: a new file, an edit, a directory renamed, an empty directory, a symlink.
  write_text(local / "new.txt", "new\n");
  write_text(local / "b.txt", "bee, edited\n");
  fs::rename(local / "a", local / "a2");
  fs::create_directories(local / "empty");
  fs::create_symlink("b.txt", local / "link");
  REQUIRE_MESSAGE(converged(), same_trees(local, p.root));
  CHECK_FALSE(fs::exists(p.root / "a"));
  CHECK(fs::read_symlink(p.root / "link") == "b.txt");

  // Server: the symlink retargeted.
  fs::remove(p.root / "link");
  fs::create_symlink("new.txt", p.root / "link");
  REQUIRE_MESSAGE(converged(), same_trees(local, p.root));

  // Server: a subtree removed, a new file, a new nested directory.
  fs::remove_all(p.root / "a2" / "sub");
  write_text(p.root / "srv.txt", "from the server\n");
  fs::create_directories(p.root / "srvdir" / "deep");
  write_text(p.root / "srvdir" / "deep" / "3.txt", "three\n");
  REQUIRE_MESSAGE(converged(), same_trees(local, p.root));
  CHECK_FALSE(fs::exists(local / "a2" / "sub"));

  // Local again: rmdir, rm, and a file moved between directories.
  fs::remove(local / "empty");
  fs::remove(local / "new.txt");
  fs::rename(local / "srvdir" / "deep" / "3.txt", local / "a2" / "3.txt");
  REQUIRE_MESSAGE(converged(), same_trees(local, p.root));
  CHECK_FALSE(fs::exists(p.root / "empty"));

  // Ignore rules: a matching file stays local; once the rule is gone the
  // file travels without waiting for the periodic rescan.
  write_text(local / ".ftsyncignore", "*.log\n");
  std::this_thread::sleep_for(300ms);
  write_text(local / "keep.log", "local only\n");
  std::this_thread::sleep_for(1500ms);
  CHECK_FALSE(fs::exists(p.root / "keep.log"));
  write_text(local / ".ftsyncignore", "# nothing ignored\n");
  CHECK(wait_until([&] { return fs::exists(p.root / "keep.log"); }, 5s, 20ms));
  fs::remove(local / ".ftsyncignore");
  REQUIRE_MESSAGE(converged(), same_trees(local, p.root));

  bg.signal(SIGTERM);
  CHECK(bg.wait_for(10s).has_value());
}

TEST_CASE("sync --once killed mid-transfer resumes without re-sending verified chunks, either direction") {
  pair_setup p("sync-resume");
  const fs::path local = p.dir / "local";
  fs::create_directories(local);
  constexpr std::uint64_t size = 256ull << 20;
  constexpr std::uint64_t kept_at_least = 32ull << 20;
  const double mib = 1024.0 * 1024.0;

  // Push: kill the client once the server holds 32+ MiB of the partial file.
  write_random_file(local / "big.bin", size, 0x3333333333ULL);
  {
    const std::vector<std::string> argv = {ftsync_binary().string(), "--json", "sync", "--once", local.string(), "srv:/"};
    child c(argv, p.cli.env(), p.dir / "push1.out", p.dir / "push1.err");
    REQUIRE_MESSAGE(wait_until([&] { return largest_partial(p.root) >= kept_at_least; }, 60s, 5ms),
                    read_text(p.dir / "push1.err"));
    c.signal(SIGKILL);
    c.wait_for(10s);
  }
  REQUIRE_FALSE(fs::exists(p.root / "big.bin"));  // never half-written at the final path
  const std::uint64_t kept = largest_partial(p.root);
  auto s = sync_once(p, local);
  MESSAGE("push resumed: " << kept / mib << " MiB kept, " << s["bytes_sent"].get<double>() / mib << " MiB sent");
  CHECK(s["bytes_sent"].get<std::uint64_t>() <= size - kept_at_least);
  CHECK(same_content(local / "big.bin", p.root / "big.bin"));
  CHECK(find_partials(p.root).empty());

  // Pull: a new file on the server; kill the client at 32+ MiB locally.
  write_random_file(p.root / "big2.bin", size, 0x4444444444ULL);
  {
    const std::vector<std::string> argv = {ftsync_binary().string(), "--json", "sync", "--once", local.string(), "srv:/"};
    child c(argv, p.cli.env(), p.dir / "pull1.out", p.dir / "pull1.err");
    REQUIRE_MESSAGE(wait_until([&] { return largest_partial(local) >= kept_at_least; }, 60s, 5ms),
                    read_text(p.dir / "pull1.err"));
    c.signal(SIGKILL);
    c.wait_for(10s);
  }
  REQUIRE_FALSE(fs::exists(local / "big2.bin"));
  s = sync_once(p, local);
  MESSAGE("pull resumed: " << s["resumed_bytes"].get<double>() / mib << " MiB kept, "
                           << s["bytes_received"].get<double>() / mib << " MiB received");
  // The pull asks for 16 chunks at a time and writes each where it belongs,
  // so a partial file 32 MiB long can have holes (up to 16 x 128 KiB) near
  // its end: the verified part is a little less than its length. What must
  // hold: most of it was kept, and not one kept byte travelled again.
  CHECK(s["resumed_bytes"].get<std::uint64_t>() >= kept_at_least - 16 * 128 * 1024);
  CHECK(s["resumed_bytes"].get<std::uint64_t>() + s["bytes_received"].get<std::uint64_t>() == size);
  CHECK(same_content(local / "big2.bin", p.root / "big2.bin"));
  CHECK(find_partials(local).empty());

  // The server killed mid-upload (and the client with it), then restarted:
  // the server's partial file is resumed from its verified chunks.
  write_random_file(local / "big3.bin", size, 0x5555555555ULL);
  {
    const std::vector<std::string> argv = {ftsync_binary().string(), "--json", "sync", "--once", local.string(), "srv:/"};
    child c(argv, p.cli.env(), p.dir / "push3.out", p.dir / "push3.err");
    REQUIRE_MESSAGE(wait_until([&] { return largest_partial(p.root) >= kept_at_least; }, 60s, 5ms),
                    read_text(p.dir / "push3.err"));
    ::kill(p.serve->pid(), SIGKILL);
    c.signal(SIGKILL);
    c.wait_for(10s);
  }
  REQUIRE_FALSE(fs::exists(p.root / "big3.bin"));
  p.restart_server();
  s = sync_once(p, local);
  MESSAGE("push after a server crash: " << s["bytes_sent"].get<double>() / mib << " MiB sent");
  CHECK(s["bytes_sent"].get<std::uint64_t>() <= size - kept_at_least);
  CHECK(same_content(local / "big3.bin", p.root / "big3.bin"));
  CHECK(find_partials(p.root).empty());
}

TEST_CASE("a node serves a folder and syncs the same folder with another peer: changes travel through it") {
  pair_setup p("sync-both");  // srv serves p.root
  // cli serves a folder of its own; srv syncs its served folder with it.
  const fs::path far = p.dir / "far";
  fs::create_directories(far);
  server far_srv(p.cli, far);
  p.srv.trust(p.cli, "cli", far_srv.address());
  // A third node syncs with srv.
  node edge(p.dir.path(), "edge");
  edge.init();
  p.srv.trust(edge, "edge");
  edge.trust(p.srv, "srv", p.serve->address());
  const fs::path edge_local = p.dir / "edge-local";
  fs::create_directories(edge_local);
  write_text(edge_local / "from-edge.txt", "edge\n");
  write_text(far / "from-far.txt", "far\n");
  auto run = [&](const node& n, const fs::path& dir, const std::string& remote) {
    auto r = n.ftsync({"--json", "sync", "--once", dir.string(), remote});
    REQUIRE_MESSAGE(r.exit_code == 0, describe(r));
  };
  run(edge, edge_local, "srv:/");  // edge -> srv's served folder
  run(p.srv, p.root, "cli:/");     // srv's served folder <-> far, while srv serves it
  run(edge, edge_local, "srv:/");  // far's file reaches edge
  CHECK(read_text(far / "from-edge.txt") == "edge\n");
  CHECK(read_text(edge_local / "from-far.txt") == "far\n");

  // An edit at one end and a deletion at the other travel through the middle.
  write_text(far / "from-edge.txt", "edge, edited far away\n");
  fs::remove(edge_local / "from-far.txt");
  run(edge, edge_local, "srv:/");
  run(p.srv, p.root, "cli:/");
  run(edge, edge_local, "srv:/");
  CHECK(read_text(edge_local / "from-edge.txt") == "edge, edited far away\n");
  CHECK_FALSE(fs::exists(far / "from-far.txt"));
  CHECK_MESSAGE(same_trees(edge_local, p.root) == "", same_trees(edge_local, p.root));
  CHECK_MESSAGE(same_trees(far, p.root) == "", same_trees(far, p.root));
}

TEST_CASE("sync with a read-only peer: pulls work, every change it would make on the server is refused") {
  pair_setup p("sync-ro", true);
  write_text(p.root / "published.txt", "read me\n");
  const fs::path local = p.dir / "local";
  fs::create_directories(local);
  write_text(local / "mine.txt", "not allowed there\n");
  auto r = p.c({"--json", "sync", "--once", local.string(), "srv:/"});
  CHECK_MESSAGE(r.exit_code == 4, describe(r));  // some paths could not be synced
  CHECK(read_text(local / "published.txt") == "read me\n");
  CHECK_FALSE(fs::exists(p.root / "mine.txt"));
  CHECK(find_partials(p.root).empty());
  const bool said = contains(r.err, "could not be synced");
  CHECK_MESSAGE(said, describe(r));
}

TEST_CASE("sync --once: a directory on one side and a file of the same name on the other: the directory keeps the name") {
  pair_setup p("sync-kind");
  const fs::path local = p.dir / "local";
  fs::create_directories(local / "here-dir");
  write_text(local / "here-dir" / "inside.txt", "in the local directory\n");
  write_text(p.root / "here-dir", "a file on the server\n");
  fs::create_directories(p.root / "there-dir");
  write_text(p.root / "there-dir" / "inside.txt", "in the server's directory\n");
  write_text(local / "there-dir", "a file here\n");
  sync_once(p, local);
  CHECK(read_text(p.root / "here-dir" / "inside.txt") == "in the local directory\n");
  CHECK(read_text(local / "there-dir" / "inside.txt") == "in the server's directory\n");
  const auto copies = conflict_copies(local);
  CHECK(copies.size() == 2);
  CHECK(conflict_copies(p.root) == copies);
  CHECK_MESSAGE(same_trees(local, p.root) == "", same_trees(local, p.root));
}

// A directory with content replaced by a file, on either side: the file
// is applied after the deletions beneath the directory, in the same round
// (before, it failed on the non-empty directory and waited a round).
TEST_CASE("sync --once: a file that replaced a non-empty directory arrives in one round, either direction") {
  pair_setup p("sync-dir-to-file");
  const fs::path local = p.dir / "local";
  for (const char* name : {"pulled", "pushed"}) {
    fs::create_directories(local / name / "sub");
    write_text(local / name / "a.txt", "a\n");
    write_text(local / name / "sub" / "b.txt", "b\n");
  }
  sync_once(p, local);
  REQUIRE(fs::is_directory(p.root / "pulled" / "sub"));
  fs::remove_all(p.root / "pulled");
  write_text(p.root / "pulled", "now a file on the server\n");
  fs::remove_all(local / "pushed");
  write_text(local / "pushed", "now a file here\n");
  const auto s = sync_once(p, local);
  CHECK(read_text(local / "pulled") == "now a file on the server\n");
  CHECK(read_text(p.root / "pushed") == "now a file here\n");
  CHECK_MESSAGE(s["rounds"] == 2, s.dump());  // one that applies, one that finds nothing left
  CHECK_MESSAGE(same_trees(local, p.root) == "", same_trees(local, p.root));
}

// A synced file that is also a hard link to a file outside the folder, on
// either side: a mode or mtime change arriving from the peer rewrites the
// synced name from its own chunks (no file data sent) instead of changing
// the shared inode, so the outside name keeps its mode and mtime.
TEST_CASE("sync --once: a metadata change to a hard-linked file replaces the link; the outside name is untouched") {
  pair_setup p("sync-hardlink");
  const fs::path local = p.dir / "local";
  fs::create_directories(local);
  write_text(local / "mine.txt", "linked on the client\n");
  write_text(p.root / "theirs.txt", "linked on the server\n");
  sync_once(p, local);
  REQUIRE(read_text(p.root / "mine.txt") == "linked on the client\n");
  // Now each side's copy is also a name for a file outside the folder.
  fs::create_hard_link(local / "mine.txt", p.dir / "outside-client.txt");
  fs::create_hard_link(p.root / "theirs.txt", p.dir / "outside-server.txt");
  const auto client_before = fs::last_write_time(p.dir / "outside-client.txt");
  const auto server_before = fs::last_write_time(p.dir / "outside-server.txt");
  sync_once(p, local);  // the new link counts move ctime only: nothing to do

  // The server changes mine.txt's mode; the client changes theirs.txt's.
  fs::permissions(p.root / "mine.txt", fs::perms::owner_read | fs::perms::owner_write);
  fs::last_write_time(p.root / "mine.txt", client_before - std::chrono::hours(24));
  fs::permissions(local / "theirs.txt", fs::perms::owner_read | fs::perms::owner_write);
  fs::last_write_time(local / "theirs.txt", server_before - std::chrono::hours(24));
  const auto s = sync_once(p, local);
  CHECK_MESSAGE(s["bytes"] == 0, s.dump());  // rebuilt from local chunks
  CHECK((fs::status(local / "mine.txt").permissions() & fs::perms::all) ==
        (fs::perms::owner_read | fs::perms::owner_write));
  CHECK((fs::status(p.root / "theirs.txt").permissions() & fs::perms::all) ==
        (fs::perms::owner_read | fs::perms::owner_write));
  CHECK(fs::hard_link_count(local / "mine.txt") == 1);
  CHECK(fs::hard_link_count(p.root / "theirs.txt") == 1);
  for (const char* outside : {"outside-client.txt", "outside-server.txt"}) {
    CAPTURE(outside);
    CHECK((fs::status(p.dir / outside).permissions() & fs::perms::all) != (fs::perms::owner_read | fs::perms::owner_write));
    CHECK(fs::hard_link_count(p.dir / outside) == 1);
  }
  CHECK(fs::last_write_time(p.dir / "outside-client.txt") == client_before);
  CHECK(fs::last_write_time(p.dir / "outside-server.txt") == server_before);
  CHECK(read_text(p.dir / "outside-client.txt") == "linked on the client\n");
  CHECK(read_text(p.dir / "outside-server.txt") == "linked on the server\n");
  CHECK_MESSAGE(same_trees(local, p.root) == "", same_trees(local, p.root));
}

// Symlinks travel as their target text, as rsync -a and Syncthing copy
// them: relative, absolute, dangling and directory links alike, never
// followed on either side. A retarget, a link that becomes a file (and back)
// and a deletion converge; two different retargets are a conflict that
// keeps both links.
TEST_CASE("sync --once: symlinks are synced as links, never followed, both directions") {
  pair_setup p("sync-symlinks");
  const fs::path local = p.dir / "local";
  fs::create_directories(local / "sub");
  write_text(local / "a.txt", "a\n");
  write_text(local / "sub" / "x.txt", "x\n");
  write_text(local / "b.txt", "becomes a link\n");
  fs::create_symlink("a.txt", local / "rel");
  fs::create_symlink("/nowhere/at/all", local / "dangling");
  fs::create_directory_symlink("sub", local / "dirlink");
  write_text(p.dir / "outside.txt", "outside the served folder\n");
  fs::create_symlink("../outside.txt", p.root / "srv-link");

  auto s1 = sync_once(p, local);
  CHECK_MESSAGE(same_trees(local, p.root) == "", same_trees(local, p.root));
  CHECK(fs::read_symlink(p.root / "rel") == "a.txt");
  CHECK(fs::read_symlink(p.root / "dangling") == "/nowhere/at/all");
  CHECK(fs::is_symlink(p.root / "dirlink"));
  CHECK(fs::read_symlink(local / "srv-link") == "../outside.txt");
  CHECK(read_text(p.dir / "outside.txt") == "outside the served folder\n");

  // A retarget and a file turned into a link here; a link turned into a
  // file and a deleted link on the server.
  fs::remove(local / "rel");
  fs::create_symlink("sub/x.txt", local / "rel");
  fs::remove(local / "b.txt");
  fs::create_symlink("a.txt", local / "b.txt");
  fs::remove(p.root / "srv-link");
  write_text(p.root / "srv-link", "now a plain file\n");
  fs::remove(p.root / "dangling");
  sync_once(p, local);
  CHECK_MESSAGE(same_trees(local, p.root) == "", same_trees(local, p.root));
  CHECK(fs::read_symlink(p.root / "rel") == "sub/x.txt");
  CHECK(fs::read_symlink(p.root / "b.txt") == "a.txt");
  CHECK(read_text(local / "srv-link") == "now a plain file\n");
  CHECK_FALSE(fs::exists(fs::symlink_status(local / "dangling")));
  CHECK(read_text(p.dir / "outside.txt") == "outside the served folder\n");

  // Retargeted differently on both sides: one keeps the name, the other is
  // a conflict copy, itself a link, on both sides.
  fs::remove(local / "rel");
  fs::create_symlink("target-from-client", local / "rel");
  fs::remove(p.root / "rel");
  fs::create_symlink("target-from-server", p.root / "rel");
  auto s3 = sync_once(p, local);
  CHECK(s3["conflicts"] == 1);
  CHECK_MESSAGE(same_trees(local, p.root) == "", same_trees(local, p.root));
  const auto copies = conflict_copies(local);
  REQUIRE(copies.size() == 1);
  std::set<std::string> targets{fs::read_symlink(local / "rel").string(), fs::read_symlink(local / copies[0]).string()};
  CHECK(targets == std::set<std::string>{"target-from-client", "target-from-server"});

  // Nothing changed: nothing moves.
  auto s4 = sync_once(p, local);
  CHECK(s4["files"] == 0);
  CHECK(s4["rounds"] == 1);
}

// Pushes go to the server many at a time (up to 32 puts open): every file
// arrives, a refusal in the middle of the stream fails only its own path,
// and deletions and a renamed directory in the next round go the same way.
// Pulls of many files overlap too (up to 16 files at once).
TEST_CASE("sync --once: hundreds of pushes and pulls in one round, with refusals among them, all settle") {
  pair_setup p("sync-many");
  const fs::path local = p.dir / "local";
  write_text(p.root / ".ftsyncignore", "*.srvonly\n");  // the server refuses these
  for (int d = 0; d < 10; ++d) {
    fs::create_directories(local / ("d" + std::to_string(d)));
    for (int i = 0; i < 30; ++i)
      write_text(local / ("d" + std::to_string(d)) / ("f" + std::to_string(i)),
                 "file " + std::to_string(d * 30 + i) + std::string(static_cast<std::size_t>(i * 97), 'x'));
  }
  for (int k : {0, 4, 9}) write_text(local / ("d" + std::to_string(k)) / "refused.srvonly", "stays local");

  auto run = [&] {
    auto r = p.c({"--json", "sync", "--once", local.string(), "srv:/"});
    CHECK_MESSAGE(r.exit_code == 4, describe(r));  // the three refused paths
    auto sum = find_summary(r.out);
    REQUIRE_MESSAGE(sum.has_value(), describe(r));
    CHECK_MESSAGE((*sum)["pending"] == 3, describe(r));
    return *sum;
  };
  auto without_refused = [&](const fs::path& dir) {
    tree t = snapshot(dir);
    for (auto it = t.begin(); it != t.end();)
      it = (it->first.find(".srvonly") != std::string::npos || it->first == ".ftsyncignore") ? t.erase(it)
                                                                                           : std::next(it);
    return t;
  };
  // The trees compared with the refused files (local only) and the rules left out.
  auto differ = [&] {
    compare_options o;
    o.mtime_files = true;
    o.mode = true;
    return tree_diff(without_refused(local), without_refused(p.root), o);
  };
  auto s1 = run();
  CHECK(s1["files"] == 300);
  CHECK(s1["dirs"] == 10);
  CHECK_MESSAGE(differ() == "", differ());
  CHECK_FALSE(fs::exists(p.root / "d4" / "refused.srvonly"));

  for (int d = 0; d < 5; ++d)
    for (int i = 0; i < 20; ++i) fs::remove(local / ("d" + std::to_string(d)) / ("f" + std::to_string(i)));
  fs::rename(local / "d8", local / "d8-renamed");
  auto s2 = run();
  CHECK(s2["deleted"] >= 100);
  CHECK_MESSAGE(differ() == "", differ());
  CHECK(find_partials(p.root).empty());

  // The other way: 200 new files on the server are pulled many at a time
  // (one a copy of a local file: built from local chunks, not sent).
  for (int d = 0; d < 4; ++d) {
    fs::create_directories(p.root / ("srv" + std::to_string(d)));
    for (int i = 0; i < 50; ++i)
      write_text(p.root / ("srv" + std::to_string(d)) / ("g" + std::to_string(i)),
                 "server file " + std::to_string(d * 50 + i) + std::string(static_cast<std::size_t>(i * 131), 'y'));
  }
  fs::copy_file(p.root / "d9" / "f29", p.root / "srv3" / "g49", fs::copy_options::overwrite_existing);
  std::uint64_t new_bytes = 0;
  for (int d = 0; d < 4; ++d)
    for (const auto& de : fs::directory_iterator(p.root / ("srv" + std::to_string(d)))) new_bytes += de.file_size();
  const auto copied = fs::file_size(p.root / "d9" / "f29");
  auto s3 = run();
  CHECK(s3["files"] == 200);
  CHECK(s3["bytes_received"] == new_bytes - copied);
  CHECK(s3["reused_bytes"] == copied);
  CHECK_MESSAGE(differ() == "", differ());
  CHECK(find_partials(local).empty());
}

TEST_CASE("sync NAME runs a [sync.NAME] pair from config.toml; an unknown name is a usage error") {
  pair_setup p("sync-pair");
  const fs::path local = p.dir / "notes";
  fs::create_directories(local);
  write_text(local / "todo.txt", "buy milk\n");
  const fs::path cfg = p.dir / "pairs.toml";
  write_text(cfg, "[sync.notes]\nfolder = \"" + local.string() + "\"\npeer = \"srv:/notes\"\nrescan_interval = 30\n");
  auto r = p.c({"--config", cfg.string(), "--json", "sync", "--once", "notes"});
  REQUIRE_MESSAGE(r.exit_code == 0, describe(r));
  CHECK(read_text(p.root / "notes" / "todo.txt") == "buy milk\n");
  auto s = find_summary(r.out);
  REQUIRE(s.has_value());
  CHECK((*s)["files"] == 1);

  auto unknown = p.c({"--config", cfg.string(), "sync", "--once", "photos"});
  CHECK(unknown.exit_code == 2);
  CHECK_MESSAGE(contains(unknown.err, "no sync pair of that name"), describe(unknown));
  CHECK_MESSAGE(contains(unknown.err, "notes"), describe(unknown));  // lists what the config has
}
