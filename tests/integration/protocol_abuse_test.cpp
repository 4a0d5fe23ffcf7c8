// An authenticated peer that breaks the protocol: wrong hashes, blocks out
// of order, reply types a client never sends, absurd sizes, too many open
// transfers, writes from a read-only peer. Each is refused by the server
// itself (not by the CLI), nothing unverified reaches a final path, and
// the server keeps serving everyone else (issue 2 "What must hold";
// research/security.md B10, D8, D10, D11).
#include "integration/evil_client.hpp"
#include "integration/harness.hpp"

#include <ftsync/crypto/hash.hpp>
#include <ftsync/util/limits.hpp>

#include <doctest/doctest.h>

using namespace integ;
namespace w = ftsync::wire;
using kind = evil_outcome::kind;

namespace {

ftsync::bytes data_of(std::string_view s) { return ftsync::bytes(s.begin(), s.end()); }

w::digest file_hash_of(const ftsync::bytes& data) {
  ftsync::crypto::file_hasher fh;
  fh.add_block(ftsync::crypto::hash_block(data));
  return fh.finish(data.size());
}

// Opens an upload and returns its transfer number (REQUIREs put_ready).
std::uint32_t begin_upload(evil_client& evil, const std::string& path, std::uint64_t size) {
  const auto o = evil.request(w::put_begin{0, path, size, 1600000000000000000LL, 0644, false});
  REQUIRE_MESSAGE(o.what == kind::success, describe(o));
  const auto* ready = std::get_if<w::put_ready>(&o.reply);
  REQUIRE(ready != nullptr);
  REQUIRE_FALSE(ready->up_to_date);
  return ready->transfer;
}

// messages.hpp: the server answers put_commit "with the same id".
void check_commit_answer_id(const evil_outcome& o, w::request_id begin_id, w::request_id commit_id) {
  if (const auto* e = std::get_if<w::error_reply>(&o.reply); e && o.what == kind::error_reply) {
    CHECK_MESSAGE(e->id == commit_id, ("put_commit's error_reply carries id " + std::to_string(e->id) +
                                       (e->id == begin_id ? " (the put_begin's)" : "") + ", not the commit's id " +
                                       std::to_string(commit_id)));
  }
}

}  // namespace

TEST_CASE("protocol abuse by an authenticated client is refused and ends only its session") {
  pair_setup p("abuse");
  write_text(p.root / "keep.txt", "keep");
  evil_client evil(p.srv, p.serve->port());

  SUBCASE("a well-behaved upload works (the cases below are not vacuous)") {
    const auto data = data_of("twelve bytes");
    const auto t = begin_upload(evil, "good.bin", data.size());
    REQUIRE(evil.send(w::put_block{t, 0, data, ftsync::crypto::hash_block(data)}).ok());
    const auto ack = evil.next();
    CHECK_MESSAGE(std::holds_alternative<w::put_block_ack>(ack.reply), describe(ack));
    const auto done = evil.request(w::put_commit{0, t, file_hash_of(data)});
    CHECK_MESSAGE(done.what == kind::success, describe(done));
    CHECK(read_text(p.root / "good.bin") == "twelve bytes");
  }

  SUBCASE("a block whose hash does not match is refused; nothing at the final path") {
    const auto data = data_of("0123456789");
    const auto t = begin_upload(evil, "bad-block.bin", data.size());
    w::digest wrong = ftsync::crypto::hash_block(data);
    wrong[0] ^= 1;
    REQUIRE(evil.send(w::put_block{t, 0, data, wrong}).ok());
    const auto o = evil.next();
    CHECK_MESSAGE(((o.what == kind::error_reply && o.code == ftsync::errc::hash_mismatch) || o.what == kind::closed),
                  describe(o));
    (void)evil.request(w::put_commit{0, t, file_hash_of(data)}, 2s);
    CHECK(!fs::exists(p.root / "bad-block.bin"));
  }

  SUBCASE("a commit with the wrong whole-file hash is refused; nothing at the final path") {
    const auto data = data_of("0123456789");
    const auto t = begin_upload(evil, "bad-commit.bin", data.size());
    REQUIRE(evil.send(w::put_block{t, 0, data, ftsync::crypto::hash_block(data)}).ok());
    (void)evil.next();
    const auto begin_id = evil.last_id();
    w::digest wrong = file_hash_of(data);
    wrong[5] ^= 0x80;
    const auto commit_id = evil.fresh_id();
    REQUIRE(evil.send(w::put_commit{commit_id, t, wrong}).ok());
    const auto o = evil.next();
    CHECK_MESSAGE(((o.what == kind::error_reply && o.code == ftsync::errc::hash_mismatch) || o.what == kind::closed),
                  describe(o));
    check_commit_answer_id(o, begin_id, commit_id);
    CHECK(!fs::exists(p.root / "bad-commit.bin"));
  }

  SUBCASE("blocks out of order, or of the wrong size, end the session") {
    const std::uint64_t size = 2 * ftsync::limits::block_size + 10;
    const auto t = begin_upload(evil, "ooo.bin", size);
    const ftsync::bytes tail(10, 0x42);
    REQUIRE(evil.send(w::put_block{t, 2, tail, ftsync::crypto::hash_block(tail)}).ok());
    const auto o = evil.next();
    CHECK_MESSAGE((o.what == kind::closed || o.what == kind::error_reply), describe(o));
    CHECK(!fs::exists(p.root / "ooo.bin"));

    const auto t2 = begin_upload(evil, "short.bin", size);
    const ftsync::bytes small(100, 0x41);
    REQUIRE(evil.send(w::put_block{t2, 0, small, ftsync::crypto::hash_block(small)}).ok());
    const auto o2 = evil.next();
    CHECK_MESSAGE((o2.what == kind::closed || o2.what == kind::error_reply), describe(o2));
    CHECK(!fs::exists(p.root / "short.bin"));
  }

  SUBCASE("a commit before every block arrived is refused") {
    const auto t = begin_upload(evil, "early.bin", 3 * ftsync::limits::block_size);
    const auto begin_id = evil.last_id();
    const auto commit_id = evil.fresh_id();
    REQUIRE(evil.send(w::put_commit{commit_id, t, {}}).ok());
    const auto o = evil.next();
    CHECK_MESSAGE((o.what == kind::error_reply || o.what == kind::closed), describe(o));
    check_commit_answer_id(o, begin_id, commit_id);
    CHECK(!fs::exists(p.root / "early.bin"));
  }

  SUBCASE("messages only a server sends end the session") {
    for (const auto& [label, m] : std::vector<std::pair<std::string, w::message>>{
             {"stat_reply", w::stat_reply{0, w::entry{"x", w::entry_kind::file, 1, 0, 0644}}},
             {"welcome", w::welcome{false, "me"}},
             {"hello", w::hello{1, {}}},
             {"get_info", w::get_info{0, 1, w::entry{"x", w::entry_kind::file, 1, 0, 0644}}},
             {"list_reply", w::list_reply{0, {}, false}},
             {"put_ready", w::put_ready{0, 1, false, 0, {}}},
         }) {
      CAPTURE(label);
      REQUIRE(evil.send(m).ok());
      const auto o = evil.next(5s);
      CHECK_MESSAGE(o.what == kind::closed, describe(o));
    }
  }

  SUBCASE("absurd sizes and unknown transfers are refused") {
    const auto huge = evil.request(w::put_begin{0, "huge.bin", std::uint64_t{1} << 62, 0, 0644, false});
    CHECK_MESSAGE((huge.what == kind::error_reply || huge.what == kind::closed), describe(huge));
    CHECK(!fs::exists(p.root / "huge.bin"));
    CHECK(find_partials(p.root).empty());
    const auto g = evil.request(w::get_open{0, "keep.txt"});
    REQUIRE_MESSAGE(g.what == kind::success, describe(g));
    const auto* info = std::get_if<w::get_info>(&g.reply);
    REQUIRE(info != nullptr);
    CHECK(info->info.size == 4);
    const auto beyond = evil.request(w::get_block{0, info->transfer, 1000000});
    CHECK_MESSAGE((beyond.what == kind::error_reply || beyond.what == kind::closed), describe(beyond));
    const auto other = evil.request(w::get_block{0, info->transfer + 1000, 0});
    CHECK_MESSAGE((other.what == kind::error_reply || other.what == kind::closed), describe(other));
  }

  SUBCASE("one session cannot hold more than max_open_transfers uploads") {
    std::size_t opened = 0;
    bool closed = false;
    for (std::size_t i = 0; i < ftsync::limits::max_open_transfers + 8 && !closed; ++i) {
      const auto o = evil.request(w::put_begin{0, "many-" + std::to_string(i), 1, 0, 0644, false});
      if (o.what == kind::success) opened++;
      else closed = o.what == kind::closed || o.what == kind::error_reply;
    }
    CHECK(opened <= ftsync::limits::max_open_transfers);
    CHECK(closed);
  }

  // Whatever the evil client did, the server still serves a normal client.
  CHECK(p.serve->running());
  auto ls = p.c({"ls", "srv:/"});
  CHECK_MESSAGE(ls.exit_code == 0, describe(ls));
  CHECK_MESSAGE(contains(ls.out, "keep.txt"), describe(ls));
  CHECK(read_text(p.root / "keep.txt") == "keep");
}

TEST_CASE("the server itself refuses every write from a read-only peer") {
  pair_setup p("ro-evil");
  fs::create_directories(p.root / "d");
  write_text(p.root / "f.txt", "file");
  const tree before = snapshot(p.root);
  evil_client evil(p.srv, p.serve->port(), /*read_only=*/true);

  for (const auto& [label, m] : std::vector<std::pair<std::string, w::message>>{
           {"mkdir", w::mkdir_request{0, "newdir", false, 0755, 0}},
           {"rmdir", w::rmdir_request{0, "d"}},
           {"remove", w::remove_request{0, "f.txt", false}},
           {"remove -r", w::remove_request{0, "d", true}},
           {"move", w::move_request{0, "f.txt", "g.txt"}},
           {"put_begin", w::put_begin{0, "new.txt", 3, 0, 0644, false}},
           {"put_begin over", w::put_begin{0, "f.txt", 3, 0, 0644, false}},
           {"put_commit", w::put_commit{0, 1, {}}},
       }) {
    CAPTURE(label);
    const auto o = evil.request(m);
    CHECK_MESSAGE(((o.what == kind::error_reply && o.code == ftsync::errc::permission_denied) || o.what == kind::closed),
                  describe(o));
  }
  // Reads are allowed.
  for (const auto& [label, m] : std::vector<std::pair<std::string, w::message>>{
           {"stat", w::stat_request{0, "f.txt"}},
           {"list", w::list_request{0, "", 0}},
           {"get_open", w::get_open{0, "f.txt"}},
       }) {
    CAPTURE(label);
    const auto o = evil.request(m);
    CHECK_MESSAGE(o.what == kind::success, describe(o));
  }
  // Raw data from a read-only peer ends its session.
  const auto data = data_of("abc");
  REQUIRE(evil.send(w::put_block{1, 0, data, ftsync::crypto::hash_block(data)}).ok());
  const auto o = evil.next();
  CHECK_MESSAGE(o.what == kind::closed, describe(o));

  CHECK_MESSAGE(tree_diff(before, snapshot(p.root)) == "", tree_diff(before, snapshot(p.root)));
  CHECK(find_partials(p.root).empty());
  CHECK(p.serve->running());
}

TEST_CASE("serve --idle-timeout closes a session that sends nothing") {
  temp_dir dir("idle");
  node srv(dir.path(), "srv");
  srv.init();
  fs::create_directories(dir / "root");
  server serve(srv, dir / "root", 0, {"--idle-timeout", "1"});
  evil_client evil(srv, serve.port());
  const auto first = evil.request(w::stat_request{0, ""});
  REQUIRE_MESSAGE(first.what == kind::success, describe(first));
  // Idle for longer than the timeout: the server ends the session (bounded wait).
  const auto o = evil.next(6s);
  CHECK_MESSAGE(o.what == kind::closed, describe(o));
  CHECK(serve.running());
  // A new session works.
  const auto again = evil.request(w::stat_request{0, ""});
  CHECK_MESSAGE(again.what == kind::success, describe(again));
}
