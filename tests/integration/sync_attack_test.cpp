// The folder-sync messages (sync_index_request .. sync_put_commit) from an
// authenticated but hostile client, against a real `ftsync serve` (issue 5:
// path attacks through every command, a read-only peer trying every write;
// research/security.md D1, D2, D3, D5, D8, D10). The plain file commands
// have the same checks in traversal_test.cpp and protocol_abuse_test.cpp;
// these go through the sync service's own handlers.
//
// Destructive requests only ever aim at paths inside this test's temp dir.
#include "integration/evil_client.hpp"
#include "integration/harness.hpp"

#include <ftsync/crypto/hash.hpp>

#include <doctest/doctest.h>

#include <sys/stat.h>

#include <limits>

using namespace integ;
namespace w = ftsync::wire;
using kind = evil_outcome::kind;

namespace {

const std::string k_secret = "SYNC OUTSIDE SECRET 7f3a";

ftsync::bytes data_of(std::string_view s) { return ftsync::bytes(s.begin(), s.end()); }

// The whole-file hash of a one-chunk file (index::file_hash_of over a single
// chunk: the chunk hash through the file hasher).
w::digest file_hash_of(const ftsync::bytes& data) {
  ftsync::crypto::file_hasher fh;
  fh.add_block(ftsync::crypto::hash_block(data));
  return fh.finish(data.size());
}

w::file_record file_rec(const std::string& path, const ftsync::bytes& data, std::uint64_t device = 0xE11) {
  w::file_record r;
  r.path = path;
  r.kind = w::entry_kind::file;
  r.size = data.size();
  r.mtime_ns = 1600000000000000000LL;
  r.mode = 0644;
  r.hash = file_hash_of(data);
  r.version = {w::version_item{device, 1}};
  return r;
}

w::file_record dir_rec(const std::string& path) {
  w::file_record r;
  r.path = path;
  r.kind = w::entry_kind::directory;
  r.mode = 0755;
  r.version = {w::version_item{0xE11, 1}};
  return r;
}

w::file_record tombstone(const std::string& path) {
  w::file_record r;
  r.path = path;
  r.deleted = true;
  r.version = {w::version_item{0xE11, 2}};
  return r;
}

// Refused as a path: an error_reply with a path code, or the session ended.
bool refused_path(const evil_outcome& o) {
  if (o.what == kind::closed) return true;
  if (o.what != kind::error_reply) return false;
  using ftsync::errc;
  return o.code == errc::bad_path || o.code == errc::path_escapes_root || o.code == errc::reserved_name ||
         o.code == errc::too_large;
}

bool failed(const evil_outcome& o) { return o.what == kind::closed || o.what == kind::error_reply; }

bool reply_leaks(const evil_outcome& o, const std::string& secret) {
  std::string text = o.detail;
  if (const auto* d = std::get_if<w::sync_data_reply>(&o.reply)) text.append(d->data.begin(), d->data.end());
  if (const auto* e = std::get_if<w::error_reply>(&o.reply)) text += e->message;
  return contains(text, secret);
}

compare_options strict() {
  compare_options o;
  o.mtime_dirs = true;
  o.mtime_files = true;
  o.mode = true;
  return o;
}

// The server's index as the evil client reads it (every page, bounded).
std::vector<w::file_record> read_index(evil_client& evil) {
  std::vector<w::file_record> all;
  std::uint64_t index_id = 0;
  std::uint64_t after = 0;
  for (int page = 0; page < 50; ++page) {
    const auto o = evil.request(w::sync_index_request{0, index_id, after});
    REQUIRE_MESSAGE(o.what == kind::success, describe(o));
    const auto* r = std::get_if<w::sync_index_reply>(&o.reply);
    REQUIRE(r != nullptr);
    index_id = r->index_id;
    for (const auto& rec : r->records) {
      after = std::max(after, rec.sequence);
      all.push_back(rec);
    }
    if (!r->more) break;
  }
  return all;
}

const w::file_record* find_record(const std::vector<w::file_record>& recs, const std::string& path) {
  for (const auto& r : recs)
    if (r.path == path) return &r;
  return nullptr;
}

// A complete, well-formed sync upload of a one-chunk file; returns the
// commit's outcome (REQUIREs every step before it).
evil_outcome upload(evil_client& evil, const w::file_record& rec, const ftsync::bytes& data,
                    const std::vector<w::version_item>& base = {}) {
  const auto put = evil.request(w::sync_put{0, rec, base, ""});
  REQUIRE_MESSAGE(put.what == kind::success, describe(put));
  const auto* ready = std::get_if<w::sync_put_ready>(&put.reply);
  REQUIRE_MESSAGE(ready != nullptr, describe(put));
  const auto t = ready->transfer;
  const auto need = evil.request(w::sync_put_chunks{0, t, 0,
                                                    {w::chunk_ref{0, static_cast<std::uint32_t>(data.size()),
                                                                  ftsync::crypto::hash_block(data)}}});
  REQUIRE_MESSAGE(need.what == kind::success, describe(need));
  const auto* n = std::get_if<w::sync_put_need>(&need.reply);
  REQUIRE(n != nullptr);
  if (!n->indices.empty()) REQUIRE(evil.send(w::sync_put_data{t, 0, data}).ok());
  return evil.request(w::sync_put_commit{0, t});
}

// Opens a sync upload of `data` as `path` and returns its transfer id.
std::uint32_t open_upload(evil_client& evil, const ftsync::bytes& data, const std::string& path) {
  const auto put = evil.request(w::sync_put{0, file_rec(path, data), {}, ""});
  REQUIRE_MESSAGE(put.what == kind::success, describe(put));
  const auto* ready = std::get_if<w::sync_put_ready>(&put.reply);
  REQUIRE_MESSAGE(ready != nullptr, describe(put));
  return ready->transfer;
}

// After aborted sync uploads: their partial files stay inside the root
// (for a resume, under a reserved name) and are never preallocated giants;
// the server still serves and keep.txt is untouched.
void check_server_after_aborted_uploads(const pair_setup& p) {
  for (const auto& part : find_partials(p.dir.path())) {
    CHECK_MESSAGE(part.string().rfind("srv-root/", 0) == 0, part.string());
    CHECK_MESSAGE(fs::file_size(p.dir / part) <= 1024 * 1024, part.string());
  }
  CHECK(p.serve->running());
  auto ls = p.c({"ls", "srv:/"});
  CHECK_MESSAGE(ls.exit_code == 0, describe(ls));
  CHECK(read_text(p.root / "keep.txt") == "keep");
}

}  // namespace

TEST_CASE("sync requests with hostile paths are refused; nothing outside the root is read or written") {
  // Root two levels down, so "../.." still lands inside this test's temp dir.
  pair_setup p("sync-atk", false, "a/b/root");
  const fs::path outside = p.dir / "a" / "b" / "outside";
  fs::create_directories(outside / "inner");
  write_text(outside / "secret.txt", k_secret);
  write_text(p.root / "inside.txt", "inside");
  fs::create_directories(p.root / "sub");
  write_text(p.root / "sub" / "s.txt", "sub file");
  fs::create_symlink(outside, p.root / "link");
  fs::create_symlink(outside / "secret.txt", p.root / "secret_link");
  const tree outside_before = snapshot(p.dir / "a");
  auto outside_diff = [&] {
    // Everything under a/ except the served root itself.
    tree now = snapshot(p.dir / "a");
    tree before = outside_before;
    for (auto* t : {&now, &before})
      for (auto it = t->begin(); it != t->end();)
        it = (it->first == "b/root" || it->first.rfind("b/root/", 0) == 0) ? t->erase(it) : std::next(it);
    // b/ itself holds the root, whose mtime the server may change.
    now.erase("b");
    before.erase("b");
    return tree_diff(before, now, strict());
  };
  evil_client evil(p.srv, p.serve->port());

  // Not vacuous: the index is served. The symlinks are in it as links
  // (their target text), never as what they point at.
  const auto index = read_index(evil);
  const auto* inside = find_record(index, "inside.txt");
  REQUIRE(inside != nullptr);
  CHECK(find_record(index, "sub/s.txt") != nullptr);
  CHECK(find_record(index, "link/secret.txt") == nullptr);
  const auto* secret_link = find_record(index, "secret_link");
  REQUIRE(secret_link != nullptr);
  CHECK(secret_link->kind == w::entry_kind::symlink);
  CHECK(secret_link->target == (outside / "secret.txt").string());
  CHECK(secret_link->size == secret_link->target.size());
  CHECK(secret_link->target.find(k_secret) == std::string::npos);
  const auto* link_rec = find_record(index, "link");
  REQUIRE(link_rec != nullptr);
  CHECK(link_rec->kind == w::entry_kind::symlink);
  const auto secret_link_version = secret_link->version;
  const auto link_version = link_rec->version;
  // A legitimate chunk read works, so the refusals below are about the path.
  {
    const auto ch = evil.request(w::sync_chunks_request{0, "inside.txt", inside->hash, 0});
    REQUIRE_MESSAGE(ch.what == kind::success, describe(ch));
    const auto* list = std::get_if<w::sync_chunks_reply>(&ch.reply);
    REQUIRE(list != nullptr);
    REQUIRE(list->chunks.size() == 1);
    const auto d = evil.request(w::sync_data_request{0, "inside.txt", 0, list->chunks[0].size, list->chunks[0].hash});
    REQUIRE_MESSAGE(d.what == kind::success, describe(d));
    const auto* data = std::get_if<w::sync_data_reply>(&d.reply);
    REQUIRE(data != nullptr);
    CHECK(std::string(data->data.begin(), data->data.end()) == "inside");
  }

  const auto secret = data_of(k_secret);
  const auto secret_hash = file_hash_of(secret);
  const auto secret_chunk = ftsync::crypto::hash_block(secret);
  const auto payload = data_of("evil!");
  const std::string abs_secret = (outside / "secret.txt").string();

  // Path strings no peer may name (same families as traversal_test.cpp).
  const std::vector<std::pair<std::string, std::string>> hostile = {
      {"dotdot", "../x"},
      {"dotdot-only", ".."},
      {"dotdot-outside", "../outside/secret.txt"},
      {"dotdot-deep", "../../../b/outside/secret.txt"},
      {"dotdot-last", "sub/.."},
      {"dotdot-middle", "sub/../../outside/secret.txt"},
      {"abs", abs_secret},
      {"abs-dir", outside.string()},
      {"abs-root", "/"},
      {"inner-dotdot", "a/../../b"},
      {"dot", "sub/./s.txt"},
      {"empty-component", "sub//s.txt"},
      {"trailing-slash", "sub/"},
      {"nul", std::string("inside.txt\0/../../x", 19)},
      {"backslash", "..\\outside\\secret.txt"},
      {"control", "a\nb"},
      {"escape-char", "a\x1b[2Jb"},
      {"bad-utf8", "\xff\xfe"},
      {"reserved-part", ".ftsync.0123456789abcdef.part"},
      {"reserved-dir", ".ftsync"},
      {"reserved-inner", "sub/.ftsync-index.db"},
      {"long-component", std::string(300, 'n')},
      {"long-path", [] {
         std::string s;
         while (s.size() < 5000) s += "dddddddddd/";
         return s + "f";
       }()},
  };
  int sent = 0;
  for (const auto& [label, path] : hostile) {
    CAPTURE(label);
    const std::vector<std::pair<std::string, w::message>> requests = {
        {"put file", w::sync_put{0, file_rec(path, payload), {}, ""}},
        {"put dir", w::sync_put{0, dir_rec(path), {}, ""}},
        {"put tombstone", w::sync_put{0, tombstone(path), {}, ""}},
        {"chunks", w::sync_chunks_request{0, path, secret_hash, 0}},
        {"data", w::sync_data_request{0, path, 0, static_cast<std::uint32_t>(secret.size()), secret_chunk}},
    };
    for (const auto& [op, msg] : requests) {
      CAPTURE(op);
      const auto o = evil.request(msg);
      ++sent;
      CHECK_MESSAGE(refused_path(o), describe(o));
      CHECK_MESSAGE(!reply_leaks(o, k_secret), describe(o));
    }
    // A rename whose source is the hostile path: never a rename (an ok
    // answer); at most an upload that still needs the data.
    const auto mv = evil.request(w::sync_put{0, file_rec("renamed-" + std::to_string(sent) + ".txt", secret), {}, path});
    ++sent;
    CHECK_MESSAGE((failed(mv) || std::holds_alternative<w::sync_put_ready>(mv.reply)), describe(mv));
    CHECK_MESSAGE(!std::holds_alternative<w::ok>(mv.reply), describe(mv));
  }

  // Through the symlinks planted inside the root: valid relative paths that
  // resolve outside. Reads never return the secret; writes fail.
  for (const std::string path : {"link/secret.txt", "link/inner/new.txt", "link/new.txt", "link/inner"}) {
    CAPTURE(path);
    for (const auto& [op, msg] : std::vector<std::pair<std::string, w::message>>{
             {"chunks", w::sync_chunks_request{0, path, secret_hash, 0}},
             {"data", w::sync_data_request{0, path, 0, static_cast<std::uint32_t>(secret.size()), secret_chunk}},
             {"put file", w::sync_put{0, file_rec(path, payload), {}, ""}},
             {"put dir", w::sync_put{0, dir_rec(path + "-d"), {}, ""}},
         }) {
      CAPTURE(op);
      const auto o = evil.request(msg);
      ++sent;
      CHECK_MESSAGE(failed(o), describe(o));
      CHECK_MESSAGE(!reply_leaks(o, k_secret), describe(o));
    }
    // A tombstone through a link: refused before the index records it (it
    // would reach every other client as a deletion).
    const auto del = evil.request(w::sync_put{0, tombstone(path), {}, ""});
    ++sent;
    CHECK_MESSAGE((del.what == kind::error_reply && del.code == ftsync::errc::path_escapes_root), describe(del));
    // A rename out of the link: never done; at most an upload needing data
    // (or busy: the same target is already being uploaded).
    const auto mv = evil.request(w::sync_put{0, file_rec("stolen.txt", secret), {}, path});
    ++sent;
    CHECK_MESSAGE((failed(mv) || std::holds_alternative<w::sync_put_ready>(mv.reply)), describe(mv));
    CHECK_MESSAGE(!std::holds_alternative<w::ok>(mv.reply), describe(mv));
  }
  // The refused tombstones left nothing in the server's index.
  for (const auto& r : read_index(evil)) CHECK_MESSAGE(r.path.rfind("link/", 0) != 0, r.path);
  // Reading a symlink as the final component: never its target's bytes.
  for (const auto& [op, msg] : std::vector<std::pair<std::string, w::message>>{
           {"chunks secret_link", w::sync_chunks_request{0, "secret_link", secret_hash, 0}},
           {"data secret_link",
            w::sync_data_request{0, "secret_link", 0, static_cast<std::uint32_t>(secret.size()), secret_chunk}},
           {"chunks link", w::sync_chunks_request{0, "link", secret_hash, 0}},
       }) {
    CAPTURE(op);
    const auto o = evil.request(msg);
    ++sent;
    CHECK_MESSAGE(failed(o), describe(o));
    CHECK_MESSAGE(!reply_leaks(o, k_secret), describe(o));
  }
  // Writing a file over a final-component symlink (D3): never through it.
  // A peer that has not seen the link is refused; one that has (its version
  // as the base) replaces the link itself, and the outside file is untouched.
  {
    const auto blind = evil.request(w::sync_put{0, file_rec("secret_link", payload), {}, ""});
    ++sent;
    CHECK_MESSAGE((blind.what == kind::error_reply && blind.code == ftsync::errc::already_exists), describe(blind));
    CHECK(fs::is_symlink(p.root / "secret_link"));
    const auto o = upload(evil, file_rec("secret_link", payload), payload, secret_link_version);
    sent += 4;
    CHECK_MESSAGE(o.what == kind::success, describe(o));
    CHECK_FALSE(fs::is_symlink(p.root / "secret_link"));
    CHECK(read_text(p.root / "secret_link") == "evil!");
    CHECK(read_text(outside / "secret.txt") == k_secret);
  }
  // A directory record naming the link itself must not follow it: refused
  // without the link's version, and with it the link (not its target) is
  // replaced by a directory inside the root.
  {
    const auto blind = evil.request(w::sync_put{0, dir_rec("link"), {}, ""});
    ++sent;
    CHECK_MESSAGE((blind.what == kind::error_reply && blind.code == ftsync::errc::already_exists), describe(blind));
    CHECK(fs::is_symlink(p.root / "link"));
    const auto over_link = evil.request(w::sync_put{0, dir_rec("link"), link_version, ""});
    ++sent;
    CHECK_MESSAGE(over_link.what == kind::success, describe(over_link));
    CHECK(fs::is_directory(fs::symlink_status(p.root / "link")));
    CHECK(!fs::exists(outside / "link"));
  }
  MESSAGE("hostile sync requests sent: ", sent);
  CHECK(sent >= 150);

  const auto d = outside_diff();
  CHECK_MESSAGE(d == "", ("something changed outside the root:\n" + d));
  CHECK(read_text(outside / "secret.txt") == k_secret);
  CHECK(read_text(p.root / "inside.txt") == "inside");
  CHECK(!fs::exists(p.root / "stolen.txt"));
  // Partial files are kept for a resumed upload, but only inside the root.
  for (const auto& part : find_partials(p.dir / "a"))
    CHECK_MESSAGE(part.string().rfind("b/root/", 0) == 0, part.string());
  for (const auto& de : fs::recursive_directory_iterator(p.root)) {
    if (de.is_symlink()) continue;
    if (de.is_regular_file()) CHECK_MESSAGE(read_text(de.path()) != k_secret, de.path().string());
  }

  // Still serving: a normal client, and the evil one.
  CHECK(p.serve->running());
  auto ls = p.c({"ls", "srv:/"});
  CHECK_MESSAGE(ls.exit_code == 0, describe(ls));
  CHECK_MESSAGE(contains(ls.out, "inside.txt"), describe(ls));
  CHECK(find_record(read_index(evil), "inside.txt") != nullptr);
}

TEST_CASE("sync uploads with absurd sizes, indices and transfer ids are refused") {
  pair_setup p("sync-absurd");
  write_text(p.root / "keep.txt", "keep");
  evil_client evil(p.srv, p.serve->port());
  const auto data = data_of("twelve bytes");
  const auto chunk = w::chunk_ref{0, static_cast<std::uint32_t>(data.size()), ftsync::crypto::hash_block(data)};

  SUBCASE("a well-formed sync upload works (the cases below are not vacuous)") {
    const auto o = upload(evil, file_rec("good.bin", data), data);
    CHECK_MESSAGE(o.what == kind::success, describe(o));
    CHECK(std::holds_alternative<w::ok>(o.reply));
    CHECK(read_text(p.root / "good.bin") == "twelve bytes");
  }

  SUBCASE("setuid/setgid/sticky and junk mode bits, and an mtime of -2^63, never reach the disk") {
    auto rec = file_rec("modes.bin", data);
    rec.mode = 0xFFFFFFFFu;
    rec.mtime_ns = std::numeric_limits<std::int64_t>::min();
    const auto o = upload(evil, rec, data);
    CHECK_MESSAGE(o.what == kind::success, describe(o));
    REQUIRE(fs::exists(p.root / "modes.bin"));
    struct stat st {};
    REQUIRE(::lstat((p.root / "modes.bin").c_str(), &st) == 0);
    CHECK((st.st_mode & 07000) == 0);
    CHECK(S_ISREG(st.st_mode));
    auto dir = dir_rec("modes-dir");
    dir.mode = 0xFFFFFFFFu;
    const auto d = evil.request(w::sync_put{0, dir, {}, ""});
    CHECK_MESSAGE(d.what == kind::success, describe(d));
    REQUIRE(::lstat((p.root / "modes-dir").c_str(), &st) == 0);
    CHECK((st.st_mode & 07000) == 0);
    CHECK(S_ISDIR(st.st_mode));
  }

  SUBCASE("a size of 2^63 or 2^64-1 never reaches a final path") {
    for (const std::uint64_t size : {std::uint64_t{1} << 63, ~std::uint64_t{0}}) {
      CAPTURE(size);
      auto rec = file_rec("huge.bin", data);
      rec.size = size;
      const auto put = evil.request(w::sync_put{0, rec, {}, ""});
      if (const auto* ready = std::get_if<w::sync_put_ready>(&put.reply); ready && put.what == kind::success) {
        // Accepted for now: a chunk list that cannot reach that size, then a commit.
        const auto need = evil.request(w::sync_put_chunks{0, ready->transfer, 0, {chunk}});
        if (need.what == kind::success) (void)evil.send(w::sync_put_data{ready->transfer, 0, data});
        const auto c = evil.request(w::sync_put_commit{0, ready->transfer});
        CHECK_MESSAGE(failed(c), describe(c));
      } else {
        CHECK_MESSAGE(failed(put), describe(put));
      }
      CHECK(!fs::exists(p.root / "huge.bin"));
    }
  }

  SUBCASE("data, chunk lists and commits for a transfer never opened") {
    REQUIRE(evil.send(w::sync_put_data{4242, 0, data}).ok());
    const auto o1 = evil.next(5s);
    CHECK_MESSAGE(o1.what == kind::closed, describe(o1));
    const auto o2 = evil.request(w::sync_put_chunks{0, 0xFFFFFFFFu, 0, {chunk}});
    CHECK_MESSAGE(o2.what == kind::closed, describe(o2));
    const auto o3 = evil.request(w::sync_put_commit{0, 4242});
    CHECK_MESSAGE((o3.what == kind::error_reply && o3.code == ftsync::errc::not_found), describe(o3));
    const auto o4 = evil.request(w::sync_put_commit{0, 0});
    CHECK_MESSAGE(failed(o4), describe(o4));
  }

  SUBCASE("a commit without data, or before the chunk list, is refused") {
    const auto t = open_upload(evil, data, "early.bin");
    const auto c0 = evil.request(w::sync_put_commit{0, t});
    CHECK_MESSAGE(failed(c0), describe(c0));
    CHECK(!fs::exists(p.root / "early.bin"));
    const auto t2 = open_upload(evil, data, "early2.bin");
    const auto need = evil.request(w::sync_put_chunks{0, t2, 0, {chunk}});
    REQUIRE_MESSAGE(need.what == kind::success, describe(need));
    const auto c1 = evil.request(w::sync_put_commit{0, t2});
    CHECK_MESSAGE(failed(c1), describe(c1));
    CHECK(!fs::exists(p.root / "early2.bin"));
    // The transfer is gone after its commit: data for it now ends the session.
    REQUIRE(evil.send(w::sync_put_data{t2, 0, data}).ok());
    const auto o = evil.next(5s);
    CHECK_MESSAGE(o.what == kind::closed, describe(o));
  }

  check_server_after_aborted_uploads(p);
}

TEST_CASE("sync chunk indices, chunk lists, chunk data and data requests out of range are refused") {
  pair_setup p("sync-range");
  write_text(p.root / "keep.txt", "keep");
  evil_client evil(p.srv, p.serve->port());
  const auto data = data_of("twelve bytes");
  const auto chunk = w::chunk_ref{0, static_cast<std::uint32_t>(data.size()), ftsync::crypto::hash_block(data)};

  SUBCASE("a chunk index past the list, 2^63 or 2^64-1 ends the session") {
    for (const std::uint64_t index : {std::uint64_t{1}, std::uint64_t{1} << 63, ~std::uint64_t{0}}) {
      CAPTURE(index);
      const auto t = open_upload(evil, data, "idx.bin");
      const auto need = evil.request(w::sync_put_chunks{0, t, 0, {chunk}});
      REQUIRE_MESSAGE(need.what == kind::success, describe(need));
      REQUIRE(evil.send(w::sync_put_data{t, index, data}).ok());
      const auto o = evil.next(5s);
      CHECK_MESSAGE(o.what == kind::closed, describe(o));
      CHECK(!fs::exists(p.root / "idx.bin"));
    }
  }

  SUBCASE("broken chunk lists end the session") {
    const std::vector<std::pair<std::string, std::pair<std::uint64_t, std::vector<w::chunk_ref>>>> lists = {
        {"first out of order", {5, {chunk}}},
        {"first 2^63", {std::uint64_t{1} << 63, {chunk}}},
        {"gap", {0, {w::chunk_ref{3, chunk.size, chunk.hash}}}},
        {"past the size", {0, {chunk, w::chunk_ref{12, 100, chunk.hash}}}},
        {"zero size", {0, {w::chunk_ref{0, 0, chunk.hash}}}},
        {"2^32-1 size", {0, {w::chunk_ref{0, 0xFFFFFFFFu, chunk.hash}}}},
        {"offset 2^64-12", {0, {w::chunk_ref{~std::uint64_t{0} - 11, chunk.size, chunk.hash}}}},
    };
    for (const auto& [label, l] : lists) {
      CAPTURE(label);
      const auto t = open_upload(evil, data, "list.bin");
      const auto o = evil.request(w::sync_put_chunks{0, t, l.first, l.second});
      CHECK_MESSAGE(o.what == kind::closed, describe(o));
      CHECK(!fs::exists(p.root / "list.bin"));
    }
  }

  SUBCASE("wrong chunk data ends the session; nothing at the final path") {
    const auto t = open_upload(evil, data, "wrong.bin");
    const auto need = evil.request(w::sync_put_chunks{0, t, 0, {chunk}});
    REQUIRE_MESSAGE(need.what == kind::success, describe(need));
    REQUIRE(evil.send(w::sync_put_data{t, 0, data_of("twelve bytez")}).ok());
    const auto o = evil.next(5s);
    CHECK_MESSAGE(o.what == kind::closed, describe(o));
    CHECK(!fs::exists(p.root / "wrong.bin"));
  }

  SUBCASE("data requests with absurd offsets and sizes") {
    const auto keep_chunk = ftsync::crypto::hash_block(data_of("keep"));
    for (const auto& [offset, size] : std::vector<std::pair<std::uint64_t, std::uint32_t>>{
             {0, 0}, {0, 0xFFFFFFFFu}, {std::uint64_t{1} << 63, 4}, {~std::uint64_t{0}, 4}, {2, 4}}) {
      CAPTURE(offset);
      CAPTURE(size);
      const auto o = evil.request(w::sync_data_request{0, "keep.txt", offset, size, keep_chunk});
      CHECK_MESSAGE(o.what == kind::error_reply, describe(o));
    }
  }

  SUBCASE("a session cannot hold more than max_open_transfers sync uploads") {
    std::size_t opened = 0;
    bool refused = false;
    for (std::size_t i = 0; i < ftsync::limits::max_open_transfers + 8 && !refused; ++i) {
      const auto o = evil.request(w::sync_put{0, file_rec("many-" + std::to_string(i), data), {}, ""});
      if (o.what == kind::success) opened++;
      else refused = failed(o);
    }
    CHECK(opened <= ftsync::limits::max_open_transfers);
    CHECK(refused);
  }

  check_server_after_aborted_uploads(p);
}

TEST_CASE("a read-only peer's sync writes are all refused before any file operation") {
  pair_setup p("sync-ro");
  fs::create_directories(p.root / "d");
  write_text(p.root / "f.txt", "file");
  write_text(p.root / "d" / "g.txt", "gee");
  set_mtime_ns(p.root / "f.txt", 1500000000000000000LL);
  evil_client evil(p.srv, p.serve->port(), /*read_only=*/true);

  // Reads work, and give the versions a writer would plan against.
  const auto index = read_index(evil);
  const auto* f = find_record(index, "f.txt");
  const auto* g = find_record(index, "d/g.txt");
  const auto* dir = find_record(index, "d");
  REQUIRE(f != nullptr);
  REQUIRE(g != nullptr);
  REQUIRE(dir != nullptr);
  const tree before = snapshot(p.root);
  auto bump = [](w::file_record r) {
    r.version.push_back(w::version_item{0xE11, 9});
    return r;
  };
  auto deleted = [&](w::file_record r) {
    r.deleted = true;
    r.size = 0;
    r.hash = {};
    return bump(r);
  };
  auto chmod = [&](w::file_record r) {
    r.mode = 0600;
    return bump(r);
  };
  auto new_content = [&](w::file_record r) {
    const auto d = data_of("new content");
    r.size = d.size();
    r.hash = file_hash_of(d);
    return bump(r);
  };
  auto renamed = [&](w::file_record r, std::string to) {
    r.path = std::move(to);
    r.version = {w::version_item{0xE11, 9}};
    return r;
  };
  const auto payload = data_of("new content");
  int sent = 0;
  for (const auto& [label, m] : std::vector<std::pair<std::string, w::message>>{
           {"new file", w::sync_put{0, file_rec("new.txt", payload), {}, ""}},
           {"new dir", w::sync_put{0, dir_rec("newdir"), {}, ""}},
           {"overwrite", w::sync_put{0, new_content(*f), f->version, ""}},
           {"delete file", w::sync_put{0, deleted(*f), f->version, ""}},
           {"delete dir", w::sync_put{0, deleted(*dir), dir->version, ""}},
           {"delete nested", w::sync_put{0, deleted(*g), g->version, ""}},
           {"chmod (metadata only)", w::sync_put{0, chmod(*f), f->version, ""}},
           {"file becomes dir", w::sync_put{0, bump(dir_rec("f.txt")), f->version, ""}},
           {"rename", w::sync_put{0, renamed(*f, "moved.txt"), {}, "f.txt"}},
           {"rename into dir", w::sync_put{0, renamed(*f, "d/moved.txt"), {}, "f.txt"}},
           {"commit of a transfer never opened", w::sync_put_commit{0, 1}},
       }) {
    CAPTURE(label);
    const auto o = evil.request(m);
    ++sent;
    const bool denied = o.what == kind::error_reply && o.code == ftsync::errc::permission_denied;
    const bool no_transfer = o.what == kind::error_reply && o.code == ftsync::errc::not_found &&
                             std::holds_alternative<w::sync_put_commit>(m);
    CHECK_MESSAGE((denied || no_transfer || o.what == kind::closed), describe(o));
  }
  // Chunk lists and data for transfer numbers the server would have handed
  // out: no transfer exists for this peer, so its session ends.
  for (std::uint32_t t : {1u, 2u}) {
    CAPTURE(t);
    const auto o = evil.request(w::sync_put_chunks{0, t, 0,
                                                   {w::chunk_ref{0, static_cast<std::uint32_t>(payload.size()),
                                                                 ftsync::crypto::hash_block(payload)}}});
    ++sent;
    CHECK_MESSAGE(o.what == kind::closed, describe(o));
    REQUIRE(evil.send(w::sync_put_data{t, 0, payload}).ok());
    ++sent;
    const auto o2 = evil.next(5s);
    // The session is open again after the request above (reopened by send).
    CHECK_MESSAGE(o2.what == kind::closed, describe(o2));
  }
  MESSAGE("read-only sync writes sent: ", sent);

  compare_options exact;
  exact.mtime_files = true;
  exact.mtime_dirs = true;
  exact.mode = true;
  CHECK_MESSAGE(tree_diff(before, snapshot(p.root), exact) == "", tree_diff(before, snapshot(p.root), exact));
  CHECK(read_text(p.root / "f.txt") == "file");
  CHECK(find_partials(p.root).empty());
  // The index did not take the refused versions either.
  const auto after = read_index(evil);
  const auto* f2 = find_record(after, "f.txt");
  REQUIRE(f2 != nullptr);
  CHECK(f2->version == f->version);
  CHECK(!f2->deleted);
  CHECK(find_record(after, "new.txt") == nullptr);
  CHECK(find_record(after, "moved.txt") == nullptr);
  CHECK(p.serve->running());
}
