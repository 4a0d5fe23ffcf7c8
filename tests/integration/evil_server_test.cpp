// The client must not trust names a server sends back (research/security.md
// D6, scp CVE-2019-6111): a malicious but correctly authenticated server
// answers `ftsync pull evil:docs DEST` with hostile entry names, and nothing
// may be written outside DEST/docs.
#include "integration/harness.hpp"
#include "integration/in_process_server.hpp"

#include <ftsync/crypto/hash.hpp>
#include <ftsync/crypto/keys.hpp>
#include <ftsync/session/server.hpp>
#include <ftsync/util/limits.hpp>
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

// What the evil server answers; changed between pulls under the mutex.
struct script {
  std::mutex mu;
  w::entry top;                     // stat of "docs"
  std::vector<w::entry> listing;    // list of "docs"
  std::string content = "EVIL CONTENT FROM THE SERVER\n";
};

w::entry file_entry(std::string name, std::uint64_t size) {
  return w::entry{std::move(name), w::entry_kind::file, size, k_mtime, 0644};
}

// A tiny file server that serves `script` for every path, hostile names included.
class evil_handler final : public ftsync::session::request_handler {
 public:
  explicit evil_handler(script& s) : m_script(s) {}

  void on_open(ftsync::session::session_ref&) override {}
  void on_close(ftsync::session::session_ref&, const ftsync::error*) override {}

  ftsync::status on_message(ftsync::session::session_ref& s, w::message&& m) override {
    std::lock_guard lock(m_script.mu);
    const std::string& content = m_script.content;
    const ftsync::bytes data(content.begin(), content.end());
    if (auto* p = std::get_if<w::ping>(&m)) return s.send(w::pong{p->id, p->client_time_ns, 0});
    if (auto* st = std::get_if<w::stat_request>(&m)) {
      if (st->path == "docs") return s.send(w::stat_reply{st->id, m_script.top});
      return s.send(w::stat_reply{st->id, file_entry(st->path, content.size())});
    }
    if (auto* l = std::get_if<w::list_request>(&m)) {
      // Only "docs" has entries: a hostile directory entry must not make the
      // client recurse forever.
      if (l->path == "docs" && l->offset == 0) return s.send(w::list_reply{l->id, m_script.listing, false});
      return s.send(w::list_reply{l->id, {}, false});
    }
    if (auto* g = std::get_if<w::get_open>(&m))
      return s.send(w::get_info{g->id, 1, file_entry(g->path, content.size())});
    if (auto* g = std::get_if<w::get_prefix>(&m)) {
      std::vector<ftsync::crypto::digest> hashes{ftsync::crypto::hash_block(data)};
      return s.send(w::get_prefix_reply{g->id, ftsync::crypto::prefix_hash(hashes, g->blocks)});
    }
    if (auto* g = std::get_if<w::get_block>(&m)) {
      if (g->index != 0) return s.send(w::error_reply{g->id, ftsync::errc::invalid_argument, "no such block"});
      return s.send(w::get_block_reply{g->id, 0, data, ftsync::crypto::hash_block(data)});
    }
    if (auto* g = std::get_if<w::get_close>(&m)) return s.send(w::ok{g->id});
    return {};
  }

 private:
  script& m_script;
};

// Paths beneath `dir`, relative.
std::set<std::string> paths_under(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& [p, e] : snapshot(dir))
    if (!p.empty()) out.insert(p);
  return out;
}

}  // namespace

TEST_CASE("pull from a malicious server: hostile names never escape the destination") {
  temp_dir dir("evil-server");
  node cli(dir.path(), "cli");
  cli.init();

  script sc;
  evil_handler handler(sc);
  in_process_server evil(handler);
  evil.trusted_by(cli, "evil");

  const std::string abs_name = "/ftsync-integ-abs-" + std::to_string(::getpid()) + ".txt";
  struct scenario {
    std::string label;
    w::entry top;
    std::vector<w::entry> listing;
  };
  const w::entry docs_dir{"docs", w::entry_kind::directory, 0, k_mtime, 0755};
  const std::uint64_t n = sc.content.size();
  std::vector<scenario> scenarios = {
      {"sane", docs_dir, {file_entry("good.txt", n)}},
      {"parent", docs_dir, {file_entry("../escaped.txt", n), file_entry("good.txt", n)}},
      {"grandparent", docs_dir, {file_entry("../../escaped.txt", n), file_entry("good.txt", n)}},
      {"dotdot-file", docs_dir, {file_entry("..", n), file_entry("good.txt", n)}},
      {"dotdot-dir", docs_dir, {w::entry{"..", w::entry_kind::directory, 0, k_mtime, 0755}, file_entry("good.txt", n)}},
      {"dot", docs_dir, {file_entry(".", n), file_entry("good.txt", n)}},
      {"slash-in-name", docs_dir, {file_entry("sub/inner.txt", n), file_entry("good.txt", n)}},
      {"absolute", docs_dir, {file_entry(abs_name, n), file_entry("good.txt", n)}},
      {"empty", docs_dir, {file_entry("", n), file_entry("good.txt", n)}},
      {"backslash", docs_dir, {file_entry("..\\escaped.txt", n), file_entry("good.txt", n)}},
      {"nul", docs_dir, {file_entry(std::string("good.txt\0/../../escaped.txt", 27), n), file_entry("good.txt", n)}},
      {"control", docs_dir, {file_entry("\x1b[2Jterm.txt", n), file_entry("good.txt", n)}},
      {"reserved", docs_dir, {file_entry(".ftsync.0123456789abcdef.part", n), file_entry("good.txt", n)}},
      {"duplicate", docs_dir, {file_entry("good.txt", n), file_entry("good.txt", n)}},
      {"top-is-file-with-hostile-name", file_entry("../../top-escape.txt", n), {}},
  };

  int i = 0;
  for (const auto& s : scenarios) {
    CAPTURE(s.label);
    {
      std::lock_guard lock(sc.mu);
      sc.top = s.top;
      sc.listing = s.listing;
    }
    const fs::path base = dir / "pulls" / std::to_string(i++);
    fs::create_directories(base);
    auto r = cli.ftsync({"pull", "evil:docs", (base / "dest").string()}, 30s);
    CHECK_MESSAGE(r.signal == 0, describe(r));
    CHECK_MESSAGE(!r.timed_out, describe(r));
    for (const auto& p : paths_under(base)) {
      const bool allowed = p == "dest" || p == "dest/docs" || p == "dest/docs/good.txt" ||
                           p.rfind("dest/docs/.ftsync.", 0) == 0 || p.rfind("dest/.ftsync.", 0) == 0;
      CHECK_MESSAGE(allowed, ("unexpected path " + p + " after a hostile pull\n" + describe(r)));
    }
    if (s.label == "sane") {
      CHECK_MESSAGE(r.exit_code == 0, describe(r));
      CHECK(read_text(base / "dest" / "docs" / "good.txt") == sc.content);
    }
    if (s.label == "top-is-file-with-hostile-name") {
      CHECK_MESSAGE(r.exit_code == 0, describe(r));
      CHECK(read_text(base / "dest" / "docs") == sc.content);
    }
    const bool abs_written = fs::exists(abs_name);
    CHECK_MESSAGE(!abs_written, ("the client wrote the server-named absolute path " + abs_name));
    if (abs_written) fs::remove(abs_name);
  }
  CHECK(!fs::exists(dir / "escaped.txt"));
  CHECK(!fs::exists(dir / "pulls" / "escaped.txt"));
  CHECK(!fs::exists(dir / "top-escape.txt"));
  CHECK(!fs::exists(dir / "pulls" / "top-escape.txt"));
}
