// A real `ftsync sync --once LOCAL evil:docs` against a malicious but
// correctly authenticated server whose index names hostile paths (issue 5:
// "a pulled tree that tries to write outside the local destination";
// research/security.md D3, D6). Each scenario is one sync into a fresh local
// folder holding a legitimate file and a symlink to a directory outside it;
// nothing may be written, changed or deleted outside the local folder, the
// symlink is never followed (it is synced as a link: the server takes that
// upload), and the legitimate file stays.
#include "integration/harness.hpp"
#include "integration/in_process_server.hpp"

#include <ftsync/crypto/hash.hpp>
#include <ftsync/crypto/keys.hpp>
#include <ftsync/session/server.hpp>
#include <ftsync/util/log.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>

using namespace integ;
namespace w = ftsync::wire;

namespace {

constexpr std::int64_t k_mtime = 1600000000000000000LL;
constexpr std::uint64_t k_index_id = 77;
const std::string k_content = "EVIL SYNC CONTENT FROM THE SERVER\n";

w::digest whole_hash(const ftsync::bytes& data) {
  ftsync::crypto::file_hasher fh;
  fh.add_block(ftsync::crypto::hash_block(data));
  return fh.finish(data.size());
}

w::file_record file_rec(std::string path) {
  const ftsync::bytes data(k_content.begin(), k_content.end());
  w::file_record r;
  r.path = std::move(path);
  r.size = data.size();
  r.mtime_ns = k_mtime;
  r.mode = 0644;
  r.hash = whole_hash(data);
  r.version = {w::version_item{0xBAD, 1}};
  return r;
}

w::file_record dir_rec(std::string path) {
  w::file_record r;
  r.path = std::move(path);
  r.kind = w::entry_kind::directory;
  r.mtime_ns = k_mtime;
  r.mode = 0755;
  r.version = {w::version_item{0xBAD, 1}};
  return r;
}

w::file_record tomb_rec(std::string path) {
  w::file_record r;
  r.path = std::move(path);
  r.deleted = true;
  r.version = {w::version_item{0xBAD, 5}};
  return r;
}

// The records the server announces; changed between syncs under the mutex.
struct script {
  std::mutex mu;
  std::vector<w::file_record> records;
  int puts = 0;       // sync_put requests for files and directories (refused)
  int link_puts = 0;  // sync_put requests for symlinks (accepted: no data)
  int copy_puts = 0;  // sync_put requests for conflict copies (refused)
};

// Serves `script` as the index of every folder, the same content for every
// file, and refuses every upload but a symlink's (the client's own files).
class evil_sync_handler final : public ftsync::session::request_handler {
 public:
  explicit evil_sync_handler(script& s) : m_script(s) {}
  void on_open(ftsync::session::session_ref&) override {}
  void on_close(ftsync::session::session_ref&, const ftsync::error*) override {}

  ftsync::status on_message(ftsync::session::session_ref& s, w::message&& m) override {
    std::lock_guard lock(m_script.mu);
    const ftsync::bytes data(k_content.begin(), k_content.end());
    if (auto* p = std::get_if<w::ping>(&m)) return s.send(w::pong{p->id, p->client_time_ns, 0});
    if (auto* st = std::get_if<w::stat_request>(&m))
      return s.send(w::stat_reply{st->id, w::entry{st->path, w::entry_kind::directory, 0, k_mtime, 0755}});
    if (auto* mk = std::get_if<w::mkdir_request>(&m)) return s.send(w::ok{mk->id});
    if (auto* ix = std::get_if<w::sync_index_request>(&m)) {
      w::sync_index_reply r{ix->id, k_index_id, {}, false};
      const std::uint64_t after = ix->index_id == k_index_id ? ix->after : 0;
      for (std::size_t i = 0; i < m_script.records.size(); ++i) {
        auto rec = m_script.records[i];
        rec.sequence = i + 1;
        if (rec.sequence > after) r.records.push_back(std::move(rec));
      }
      return s.send(r);
    }
    if (auto* c = std::get_if<w::sync_chunks_request>(&m)) {
      if (c->first != 0) return s.send(w::sync_chunks_reply{c->id, {}, false});
      return s.send(w::sync_chunks_reply{
          c->id, {w::chunk_ref{0, static_cast<std::uint32_t>(data.size()), ftsync::crypto::hash_block(data)}}, false});
    }
    if (auto* d = std::get_if<w::sync_data_request>(&m)) return s.send(w::sync_data_reply{d->id, data});
    if (auto* p = std::get_if<w::sync_put>(&m)) {
      if (p->record.kind == w::entry_kind::symlink && !p->record.deleted) {
        ++m_script.link_puts;
        m_script.records.push_back(p->record);  // as a real server's index would
        return s.send(w::ok{p->id});
      }
      if (p->record.path.find(".sync-conflict-") != std::string::npos) ++m_script.copy_puts;
      else ++m_script.puts;
      return s.send(w::error_reply{p->id, ftsync::errc::permission_denied, "this server takes no uploads"});
    }
    return {};
  }

 private:
  script& m_script;
};

// Every file beneath `dir` that holds the server's content, partial files aside.
std::vector<std::string> files_with_content(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    if (it->is_symlink(ec) || !it->is_regular_file(ec)) continue;
    // A refused download keeps its partial file for a resume (under a
    // reserved name, inside the folder).
    const std::string name = it->path().filename().string();
    if (name.rfind(".ftsync.", 0) == 0 && name.size() > 5 && name.compare(name.size() - 5, 5, ".part") == 0) continue;
    if (contains(read_text(it->path()), "EVIL SYNC CONTENT")) out.push_back(fs::relative(it->path(), dir).string());
  }
  return out;
}

// Every path beneath `dir`, relative, never following a symlink (the
// harness's snapshot() resolves a link's own name through fs::relative).
std::set<std::string> lexical_paths(const fs::path& dir) {
  std::set<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec))
    out.insert(it->path().lexically_relative(dir).string());
  return out;
}

}  // namespace

TEST_CASE("sync from a malicious server: hostile index records never write outside the local folder") {
  temp_dir dir("sync-evil-server");
  node cli(dir.path(), "cli");
  cli.init();

  script sc;
  evil_sync_handler handler(sc);
  in_process_server evil(handler);
  evil.trusted_by(cli, "evil");

  // Outside every local folder: a directory the victim links to, with a
  // secret the server would like to delete or overwrite.
  const fs::path outside = dir / "outside";
  fs::create_directories(outside / "inner");
  write_text(outside / "secret.txt", "VICTIM SECRET");
  const fs::path runs = dir / "runs";
  fs::create_directories(runs);
  const std::string abs_target = (runs / "abs-escape.txt").string();

  // Exit 4 (exit_code::remote): paths left unsynced after the retries.
  constexpr int k_ok = 0;
  constexpr int k_remote = 4;
  struct scenario {
    std::string label;
    std::vector<w::file_record> records;  // "docs/good.txt" is added to each
    int exit_code;                        // what `sync --once` returns
    std::string logged;                   // what the client says about the record ("" nothing)
    // A record for the link's own name is a conflict with the local link:
    // a file loses (its copy beside the link), a directory wins (the link,
    // not what it points at, moves to the copy's name).
    bool conflict = false;
    bool link_stays = true;
  };
  const std::string bad = "skipping a bad record from the peer";
  const std::string via_link = "goes through a symbolic link";
  const std::vector<scenario> scenarios = {
      {"sane", {}, k_ok, ""},
      {"dotdot after the folder", {file_rec("docs/../escape.txt")}, k_ok, bad},
      {"dotdot first", {file_rec("../escape.txt")}, k_ok, bad},
      {"dotdot deep", {file_rec("docs/../../../escape.txt")}, k_ok, bad},
      {"dotdot last", {dir_rec("docs/sub/..")}, k_ok, bad},
      {"inner dotdot", {file_rec("docs/a/../../b.txt")}, k_ok, bad},
      {"dotdot as a directory", {dir_rec("docs/..")}, k_ok, bad},
      {"absolute", {file_rec(abs_target)}, k_ok, bad},
      {"absolute under the folder name", {file_rec("docs/" + abs_target)}, k_ok, bad},
      {"backslash", {file_rec("docs/..\\..\\escape.txt")}, k_ok, bad},
      {"nul", {file_rec(std::string("docs/good2.txt\0/../../escape.txt", 32))}, k_ok, bad},
      {"control chars", {file_rec("docs/\x1b[2Jterm.txt")}, k_ok, bad},
      {"overlong component", {file_rec("docs/" + std::string(300, 'n'))}, k_ok, bad},
      {"reserved partial name", {file_rec("docs/.ftsync.0123456789abcdef.part")}, k_ok, bad},
      {"reserved name", {dir_rec("docs/.ftsync")}, k_ok, bad},
      {"through the victim's symlink", {file_rec("docs/link/pwn.txt")}, k_remote, via_link},
      {"directory through the symlink", {dir_rec("docs/link/newdir"), file_rec("docs/link/newdir/x.txt")}, k_remote,
       via_link},
      // Nothing local is known under those names: nothing to delete.
      {"tombstone through the symlink", {tomb_rec("docs/link/secret.txt")}, k_ok, ""},
      {"tombstone of a directory behind the symlink", {tomb_rec("docs/link/inner")}, k_ok, ""},
      // The copy is a new file of the victim's, which this server refuses.
      {"file over the symlink", {file_rec("docs/link")}, k_remote, "conflict: 'link' changed on both sides", true,
       true},
      {"directory over the symlink", {dir_rec("docs/link")}, k_ok, "conflict: 'link' changed on both sides", true,
       false},
      {"outside the synced folder", {file_rec("other/x.txt"), file_rec("docsx/y.txt")}, k_ok, ""},
  };

  int i = 0;
  for (const auto& s : scenarios) {
    CAPTURE(s.label);
    {
      std::lock_guard lock(sc.mu);
      sc.records = s.records;
      sc.records.push_back(file_rec("docs/good.txt"));
    }
    const fs::path base = runs / std::to_string(i++);
    const fs::path local = base / "local";
    fs::create_directories(local);
    write_text(local / "keep.txt", "mine");
    // The victim's own files stay out of the sync (this server takes no
    // uploads), so a clean run ends with exit 0.
    write_text(local / ".ftsyncignore", "keep.txt\n.ftsyncignore\n");
    fs::create_symlink(outside, local / "link");
    const tree outside_before = snapshot(outside);
    const auto runs_before = lexical_paths(runs);

    auto r = cli.ftsync({"sync", "--once", local.string(), "evil:docs"}, 30s);
    CHECK_MESSAGE(r.signal == 0, describe(r));
    CHECK_MESSAGE(!r.timed_out, describe(r));

    // Outside the local folder: nothing new, nothing changed.
    const auto d = tree_diff(outside_before, snapshot(outside));
    CHECK_MESSAGE(d == "", ("outside changed:\n" + d + describe(r)));
    CHECK(read_text(outside / "secret.txt") == "VICTIM SECRET");
    for (const auto& p : lexical_paths(runs)) {
      const bool mine = p == std::to_string(i - 1) || p.rfind(std::to_string(i - 1) + "/", 0) == 0;
      if (!mine) CHECK_MESSAGE(runs_before.count(p) == 1, ("new path outside the local folder: " + p));
    }
    for (const auto& p : lexical_paths(base)) {
      const bool in_local = p == "local" || p.rfind("local/", 0) == 0;
      CHECK_MESSAGE(in_local, ("written beside the local folder: " + p));
    }
    CHECK(!fs::exists(dir / "escape.txt"));
    CHECK(!fs::exists(abs_target));
    CHECK(files_with_content(outside).empty());

    // Inside: the legitimate file stays, the link is never followed, and
    // the server's good file arrives next to the refused record.
    CHECK(read_text(local / "keep.txt") == "mine");
    std::vector<std::string> copies, content;
    for (const auto& de : fs::directory_iterator(local))
      if (de.path().filename().string().rfind("link.sync-conflict-", 0) == 0)
        copies.push_back(de.path().filename().string());
    for (auto& f : files_with_content(local))
      if (f.rfind("link.sync-conflict-", 0) != 0) content.push_back(f);
    CHECK_MESSAGE(copies.size() == (s.conflict ? 1u : 0u), describe(r));
    if (s.link_stays) {
      CHECK_MESSAGE(fs::is_symlink(local / "link"), describe(r));
      if (s.conflict && copies.size() == 1) CHECK(read_text(local / copies[0]) == k_content);
    } else {
      CHECK_MESSAGE(fs::is_directory(fs::symlink_status(local / "link")), describe(r));
      if (copies.size() == 1) CHECK(fs::read_symlink(local / copies[0]) == outside);
    }
    CHECK_MESSAGE(content == std::vector<std::string>{"good.txt"}, describe(r));
    CHECK_MESSAGE(read_text(local / "good.txt") == k_content, describe(r));
    CHECK_MESSAGE(r.exit_code == s.exit_code, describe(r));
    if (!s.logged.empty()) CHECK_MESSAGE(contains(r.err, s.logged), describe(r));
    CHECK(!fs::exists(local / "other"));
    CHECK(!fs::exists(local / "x.txt"));
  }
  // The victim's own files were ignored, so it never tried to upload one;
  // its link travelled as a link.
  std::lock_guard lock(sc.mu);
  CHECK(sc.puts == 0);
  CHECK(sc.copy_puts > 0);
  CHECK(sc.link_puts >= static_cast<int>(scenarios.size()));
}
